"""The referral engine's entry points (attribution lands with the referral engine)."""

from __future__ import annotations

from shopify_app.models import Order, Shop


def on_order_paid(shop: Shop, order: Order) -> None:
    """A paid order: complete the referral its discount code belongs to, mark rewards used."""


def on_order_reversed(shop: Shop, order: Order) -> None:
    """A cancelled or fully refunded order: reverse what it counted."""
