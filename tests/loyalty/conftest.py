"""Loyalty fixtures: customers who exist in Shopify (the double) and in the app."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from shopify_app.platform.models import Customer, Shop
from shopify_double import ShopifyDouble
from tests.factories import make_customer
from tests.referrals.conftest import Inbox, serving


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
