"""Loyalty helpers: switch rules on, read balances and history; customers who exist in Shopify."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from shopify_app.platform.extensions import db
from shopify_app.platform.models import Customer, PointsEntry, Shop
from shopify_app.program.config import get_settings
from shopify_double import ShopifyDouble
from tests.factories import make_customer
from tests.referrals.conftest import Inbox, serving


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


def shopify_customer(double: ShopifyDouble, shop: Shop, email: str, **fields: Any) -> Customer:
    """A Member in the double and the app with the same Shopify id (flushed, not committed)."""
    locale = fields.pop("locale", "en")
    record = double.add_customer(shop.domain, email=email, locale=locale)
    return make_customer(shop, shopify_id=record["id"], email=email, locale=locale, **fields)


@pytest.fixture
def inbox(app: Flask) -> Iterator[Inbox]:
    """A real SMTP server (aiosmtpd) the app's SMTP_URL points to for the test."""
    with serving(app) as handler:
        yield handler
