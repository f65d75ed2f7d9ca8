"""orders/* and refunds/create: store orders exactly and hand them to the referral engine.

Most paid orders carry none of the engine's codes: they cost one statement, and only an
order with a referral or reward code is loaded and handed to the engine.
"""

from __future__ import annotations

from typing import Any

from shopify_app.models import Shop, WebhookEvent
from shopify_app.services import referrals
from shopify_app.services.orders import (
    discount_codes,
    locked_order,
    mark_cancelled,
    record_refund,
    store_order,
)


def on_create(shop: Shop, payload: dict[str, Any], event: WebhookEvent) -> None:
    order_id, applied = store_order(shop, payload)
    if applied and referrals.routes(discount_codes(payload)):
        order = locked_order(order_id)
        if order.paid_at is not None and order.cancelled_at is None:
            referrals.on_order_paid(shop, order)


def on_paid(shop: Shop, payload: dict[str, Any], event: WebhookEvent) -> None:
    order_id, _ = store_order(shop, payload, paid_at=event.triggered_at or event.received_at)
    if referrals.routes(discount_codes(payload)):
        order = locked_order(order_id)
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
