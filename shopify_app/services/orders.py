"""Orders and refunds from Shopify's payloads, stored exactly and applied once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from shopify_app.extensions import db
from shopify_app.models import Customer, Order, Refund, Shop
from shopify_app.services.customers import parse_shopify_time
from shopify_app.services.money import to_minor


def _lock_order(shop: Shop, shopify_id: int) -> Order | None:
    return db.session.execute(
        select(Order)
        .where(Order.shop_id == shop.id, Order.shopify_id == shopify_id)
        .with_for_update()
    ).scalar_one_or_none()


def _get_or_create_order(shop: Shop, shopify_id: int) -> Order:
    order = _lock_order(shop, shopify_id)
    if order is not None:
        return order
    order = Order(shop_id=shop.id, shopify_id=shopify_id, discount_codes=[])
    try:
        with db.session.begin_nested():
            db.session.add(order)
    except IntegrityError:
        order = _lock_order(shop, shopify_id)
        assert order is not None
    return order


def _customer_id_for(shop: Shop, shopify_customer_id: int | None) -> int | None:
    if shopify_customer_id is None:
        return None
    return db.session.execute(
        select(Customer.id).where(
            Customer.shop_id == shop.id, Customer.shopify_id == shopify_customer_id
        )
    ).scalar_one_or_none()


def upsert_order(shop: Shop, payload: dict[str, Any]) -> tuple[Order, bool]:
    """Store the order from a REST payload; returns (order, applied) — False when stale."""
    order = _get_or_create_order(shop, int(payload["id"]))
    updated_at = parse_shopify_time(payload.get("updated_at"))
    if (
        order.shopify_updated_at is not None
        and updated_at is not None
        and updated_at < order.shopify_updated_at
    ):
        return order, False
    currency = payload.get("currency") or shop.currency
    customer = payload.get("customer") or {}
    shopify_customer_id = int(customer["id"]) if customer.get("id") else None
    order.currency = currency
    order.total_minor = to_minor(payload.get("total_price"), currency)
    order.email = payload.get("email") or customer.get("email")
    order.name = payload.get("name") or ""
    order.shopify_customer_id = shopify_customer_id
    order.customer_id = _customer_id_for(shop, shopify_customer_id)
    order.discount_codes = [
        str(d.get("code", "")).strip() for d in payload.get("discount_codes") or [] if d.get("code")
    ]
    order.financial_status = payload.get("financial_status") or order.financial_status
    order.processed_at = parse_shopify_time(
        payload.get("processed_at") or payload.get("created_at")
    )
    order.cancelled_at = parse_shopify_time(payload.get("cancelled_at")) or order.cancelled_at
    order.shopify_updated_at = updated_at
    if order.financial_status in {"paid", "partially_refunded", "refunded"} and not order.paid_at:
        order.paid_at = updated_at or order.processed_at
    return order, True


def record_refund(shop: Shop, payload: dict[str, Any]) -> tuple[Order, bool]:
    """Apply a refund once (keyed on its Shopify id); returns (order, newly_applied)."""
    order = _get_or_create_order(shop, int(payload["order_id"]))
    refund_id = int(payload["id"])
    exists = db.session.execute(
        select(Refund.id).where(Refund.shop_id == shop.id, Refund.shopify_id == refund_id)
    ).scalar_one_or_none()
    if exists is not None:
        return order, False
    currency = order.currency or shop.currency
    amount = sum(
        to_minor(t.get("amount"), t.get("currency") or currency)
        for t in payload.get("transactions") or []
        if t.get("kind") == "refund" and t.get("status", "success") == "success"
    )
    db.session.add(
        Refund(
            shop_id=shop.id,
            shopify_id=refund_id,
            order_id=order.id,
            amount_minor=amount,
            created_at=parse_shopify_time(payload.get("created_at")),
        )
    )
    order.refunded_minor += amount
    return order, True


def mark_cancelled(shop: Shop, payload: dict[str, Any], when: datetime) -> Order:
    order, _ = upsert_order(shop, payload)
    order.cancelled_at = (
        order.cancelled_at or parse_shopify_time(payload.get("cancelled_at")) or when
    )
    return order
