"""Helpers for the earning rules: switch rules on, read a customer's balance and history."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from shopify_app.platform.extensions import db
from shopify_app.platform.models import Customer, PointsEntry, Shop
from shopify_app.program.config import get_settings


def set_rules(shop: Shop, **values: Any) -> None:
    """Turn rules on or off and set their values, as a saved Program page would."""
    settings = get_settings(shop)
    for name, value in values.items():
        setattr(settings, name, value)
    db.session.commit()


def balance(shop: Shop, shopify_customer_id: int) -> int:
    db.session.expire_all()
    return db.session.execute(
        select(Customer.points_balance).where(
            Customer.shop_id == shop.id, Customer.shopify_id == shopify_customer_id
        )
    ).scalar_one()


def history(shop: Shop) -> list[tuple[str | None, int, str]]:
    """Every ledger row of the shop: (source key, points, description), oldest first."""
    db.session.expire_all()
    return [
        (r.source_key, r.delta, r.description)
        for r in db.session.execute(
            select(PointsEntry).where(PointsEntry.shop_id == shop.id).order_by(PointsEntry.id)
        ).scalars()
    ]
