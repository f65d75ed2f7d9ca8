"""Loyalty fixtures: customers who exist in Shopify (the double) and in the app."""

from __future__ import annotations

from typing import Any

from shopify_app.platform.models import Customer, Shop
from shopify_double import ShopifyDouble
from tests.factories import make_customer


def shopify_customer(double: ShopifyDouble, shop: Shop, email: str, **fields: Any) -> Customer:
    """A Member in the double and the app with the same Shopify id (flushed, not committed)."""
    locale = fields.pop("locale", "en")
    record = double.add_customer(shop.domain, email=email, locale=locale)
    return make_customer(shop, shopify_id=record["id"], email=email, locale=locale, **fields)
