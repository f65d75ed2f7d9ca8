"""orders/* and refunds/create: store orders exactly and hand them to the referral engine."""

from __future__ import annotations

from typing import Any

from shopify_app.models import Shop, WebhookEvent
from shopify_app.services import referrals
from shopify_app.services.orders import mark_cancelled, record_refund, upsert_order


def on_create(shop: Shop, payload: dict[str, Any], event: WebhookEvent) -> None:
    order, applied = upsert_order(shop, payload)
    if applied and order.paid_at is not None and order.cancelled_at is None:
        referrals.on_order_paid(shop, order)


def on_paid(shop: Shop, payload: dict[str, Any], event: WebhookEvent) -> None:
    order, _ = upsert_order(shop, payload)
    if order.paid_at is None:
        order.paid_at = event.triggered_at or event.received_at
    if order.cancelled_at is None:
        referrals.on_order_paid(shop, order)


on_updated = on_create


def on_cancelled(shop: Shop, payload: dict[str, Any], event: WebhookEvent) -> None:
    order = mark_cancelled(shop, payload, event.triggered_at or event.received_at)
    referrals.on_order_reversed(shop, order)


def on_refund(shop: Shop, payload: dict[str, Any], event: WebhookEvent) -> None:
    order, applied = record_refund(shop, payload)
    if applied and order.total_minor and order.refunded_minor >= order.total_minor:
        referrals.on_order_reversed(shop, order)
