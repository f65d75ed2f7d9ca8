"""Orders and refunds from Shopify's payloads, stored exactly and applied once."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, literal, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from shopify_app.platform.customer_store import parse_shopify_time
from shopify_app.platform.db import is_postgresql
from shopify_app.platform.extensions import db
from shopify_app.platform.models import Customer, Order, Refund, Shop
from shopify_app.platform.models.base import utcnow
from shopify_app.platform.money import to_minor


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


PAID_STATUSES = ("paid", "partially_refunded", "refunded")
_STORE_STATEMENTS: dict[bool, Any] = {}


def _store_statement(postgres: bool):
    """INSERT … ON CONFLICT DO UPDATE for one order, built once per dialect.

    The conflict branch applies only a payload at least as new as the stored one, keeps what
    a payload may leave out (status, cancellation, payment time), and RETURNING gives the id
    only when the payload was applied.
    """
    if postgres in _STORE_STATEMENTS:
        return _STORE_STATEMENTS[postgres]
    insert = postgresql.insert if postgres else sqlite.insert
    table = Order.__table__
    customer_id = (
        select(Customer.id)
        .where(
            Customer.shop_id == bindparam("shop_id"),
            Customer.shopify_id == bindparam("shopify_customer_id"),
        )
        .scalar_subquery()
    )
    values = {
        name: bindparam(name, type_=table.c[name].type)
        for name in (
            "shop_id", "shopify_id", "currency", "total_minor", "subtotal_minor", "email", "name",
            "shopify_customer_id", "discount_codes", "financial_status", "processed_at",
            "cancelled_at", "shopify_updated_at", "paid_at", "created_at", "updated_at",
        )
    }  # fmt: skip
    values["customer_id"] = customer_id
    values["refunded_minor"] = literal(0)
    statement = insert(table).values(values)
    new, old = statement.excluded, table.c
    statement = statement.on_conflict_do_update(
        index_elements=[old.shop_id, old.shopify_id],
        set_={
            "currency": new.currency,
            "total_minor": new.total_minor,
            "subtotal_minor": func.coalesce(new.subtotal_minor, old.subtotal_minor),
            "email": new.email,
            "name": new.name,
            "shopify_customer_id": new.shopify_customer_id,
            "customer_id": new.customer_id,
            "discount_codes": new.discount_codes,
            "financial_status": func.coalesce(bindparam("payload_status"), old.financial_status),
            "processed_at": new.processed_at,
            "cancelled_at": func.coalesce(new.cancelled_at, old.cancelled_at),
            "shopify_updated_at": new.shopify_updated_at,
            "paid_at": func.coalesce(old.paid_at, new.paid_at),
            "updated_at": new.updated_at,
        },
        where=or_(
            old.shopify_updated_at.is_(None),
            new.shopify_updated_at.is_(None),
            new.shopify_updated_at >= old.shopify_updated_at,
        ),
    ).returning(old.id)
    _STORE_STATEMENTS[postgres] = statement
    return statement


def store_order(
    shop: Shop, payload: dict[str, Any], *, paid_at: datetime | None = None
) -> tuple[int, bool]:
    """Store the order from a REST payload in one statement; returns (id, applied).

    `applied` is False for a payload older than the stored one. `paid_at` is when the order
    was paid if the payload does not say (orders/paid: the delivery's time). The hot path of
    every order webhook: no ORM object is built unless the caller needs one.
    """
    shopify_id = int(payload["id"])
    updated_at = parse_shopify_time(payload.get("updated_at"))
    processed_at = parse_shopify_time(payload.get("processed_at") or payload.get("created_at"))
    currency = payload.get("currency") or shop.currency
    customer = payload.get("customer") or {}
    status = payload.get("financial_status") or None
    if status in PAID_STATUSES:
        paid_at = updated_at or processed_at or paid_at
    now = utcnow()
    params = {
        "shop_id": shop.id,
        "shopify_id": shopify_id,
        "currency": currency,
        "total_minor": to_minor(payload.get("total_price"), currency),
        "subtotal_minor": subtotal_minor(payload, shop.currency),
        "email": payload.get("email") or customer.get("email"),
        "name": (payload.get("name") or "")[:64],
        "shopify_customer_id": int(customer["id"]) if customer.get("id") else None,
        "discount_codes": discount_codes(payload),
        "financial_status": status or "pending",
        "payload_status": status,
        "processed_at": processed_at,
        "cancelled_at": parse_shopify_time(payload.get("cancelled_at")),
        "shopify_updated_at": updated_at,
        "paid_at": paid_at,
        "created_at": now,
        "updated_at": now,
    }
    order_id = db.session.execute(_store_statement(is_postgresql()), params).scalar_one_or_none()
    if order_id is not None:
        return order_id, True
    stored = db.session.execute(
        select(Order.id).where(Order.shop_id == shop.id, Order.shopify_id == shopify_id)
    ).scalar_one()
    return stored, False


def _shop_money(money_set: Any, shop_currency: str) -> int | None:
    """The shop-money amount of a REST `*_set` (`{"shop_money": {amount, currency_code}}`)."""
    money = (money_set or {}).get("shop_money") or {}
    if money.get("amount") is None:
        return None
    return to_minor(money["amount"], money.get("currency_code") or shop_currency)


def refund_subtotal_minor(refund: dict[str, Any], shop_currency: str) -> int | None:
    """What a refund's line items came to in shop money; None for a refund of an amount only."""
    lines = refund.get("refund_line_items") or []
    if not lines:
        return None
    total = 0
    for line in lines:
        amount = _shop_money(line.get("subtotal_set"), shop_currency)
        total += amount if amount is not None else to_minor(line.get("subtotal"), shop_currency)
    return total


def subtotal_minor(payload: dict[str, Any], shop_currency: str) -> int | None:
    """The subtotal the order's points are based on: after discounts, before tax, shipping and
    refunds, in shop money (an order in another presentment currency earns on its converted
    amount); None when the payload does not give it.

    `current_subtotal_price_set` reflects order edits and also refunds, so the line items the
    payload's refunds took back are added again: refunds reverse their own share of the points.
    """
    current = _shop_money(payload.get("current_subtotal_price_set"), shop_currency)
    if current is not None:
        refunds = payload.get("refunds") or []
        return current + sum(refund_subtotal_minor(r, shop_currency) or 0 for r in refunds)
    original = _shop_money(payload.get("subtotal_price_set"), shop_currency)
    if original is not None:
        return original
    if (payload.get("currency") or shop_currency) == shop_currency:
        if payload.get("subtotal_price") is not None:
            return to_minor(payload["subtotal_price"], shop_currency)
    return None


def discount_codes(payload: dict[str, Any]) -> list[str]:
    """The codes an order payload used, as typed."""
    return [
        str(d.get("code", "")).strip() for d in payload.get("discount_codes") or [] if d.get("code")
    ]


def locked_orders(order_ids: Iterable[int]) -> dict[int, Order]:
    """Orders as fresh ORM objects, row-locked in id order, for the referral engine's changes."""
    return {
        order.id: order
        for order in db.session.execute(
            select(Order)
            .where(Order.id.in_(set(order_ids)))
            .order_by(Order.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).scalars()
    }


def locked_order(order_id: int) -> Order:
    """One order, as `locked_orders` gives them."""
    return locked_orders([order_id])[order_id]


def upsert_order(
    shop: Shop, payload: dict[str, Any], *, paid_at: datetime | None = None
) -> tuple[Order, bool]:
    """`store_order`, then the order itself (locked): for callers that change it."""
    order_id, applied = store_order(shop, payload, paid_at=paid_at)
    return locked_order(order_id), applied


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
            subtotal_minor=refund_subtotal_minor(payload, shop.currency),
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
