"""orders/* and refunds/create: store orders exactly and hand them to the referral engine
and the loyalty points.

Most paid orders carry none of the engine's codes: they cost one statement, and only orders
with a referral or reward code are loaded and handed to the engine, a whole run at once. The
run's orders/paid orders earn their points in one call, set-wise too.
"""

from __future__ import annotations

from typing import Any

from shopify_app.loyalty.order_points import earn_for_paid_orders, reverse_order_points
from shopify_app.loyalty.redeeming import use_redemption_codes
from shopify_app.platform.models import Shop, WebhookEvent
from shopify_app.referrals.attribution import on_orders_paid
from shopify_app.referrals.codes import routes
from shopify_app.referrals.orders import discount_codes, mark_cancelled, record_refund, store_order
from shopify_app.referrals.reversal import on_order_reversed


def on_orders(shop: Shop, deliveries: list[tuple[dict[str, Any], WebhookEvent]]) -> None:
    """A run of orders/create, orders/paid and orders/updated deliveries of one shop.

    Each order is stored in one statement; then every paid order carrying the engine's codes
    goes to the engine in one call, which attributes them set-wise. orders/create and
    orders/updated count only when newer than what is stored; orders/paid always does (it
    records the payment).
    """
    for_engine: list[int] = []
    paid: list[int] = []
    for payload, event in deliveries:
        if event.topic == "orders/paid":
            paid_at = event.triggered_at or event.received_at
            order_id, applied = store_order(shop, payload, paid_at=paid_at)
            paid.append(order_id)
        else:
            order_id, applied = store_order(shop, payload)
        if (applied or event.topic == "orders/paid") and routes(discount_codes(payload)):
            for_engine.append(order_id)
    use_redemption_codes(shop, [payload for payload, _ in deliveries])
    on_orders_paid(shop, for_engine)
    earn_for_paid_orders(shop, paid)


def on_order(shop: Shop, payload: dict[str, Any], event: WebhookEvent) -> None:
    """One order delivery on its own: a run of one."""
    on_orders(shop, [(payload, event)])


def on_cancelled(shop: Shop, payload: dict[str, Any], event: WebhookEvent) -> None:
    order = mark_cancelled(shop, payload, event.triggered_at or event.received_at)
    reverse_order_points(shop, order.id)
    on_order_reversed(shop, order)


def on_refund(shop: Shop, payload: dict[str, Any], event: WebhookEvent) -> None:
    order, applied = record_refund(shop, payload)
    reverse_order_points(shop, order.id)
    if applied and order.total_minor and order.refunded_minor >= order.total_minor:
        on_order_reversed(shop, order)
