"""customers/create, /update, /delete, /enable, /disable: keep Members and Guests true.

An account that becomes enabled through any of them earns the account points (once).
"""

from __future__ import annotations

from typing import Any

from shopify_app.loyalty.earning import accounts_watched
from shopify_app.platform.customer_store import (
    ShopifyCustomer,
    delete_shopify_customer,
    upsert_shopify_customer,
    upsert_shopify_customers,
)
from shopify_app.platform.models import Shop, WebhookEvent


def on_create(shop: Shop, payload: dict[str, Any], event: WebhookEvent) -> None:
    data = ShopifyCustomer.from_rest(payload)
    with accounts_watched(shop, [data.shopify_id]):
        upsert_shopify_customer(shop, data)


def on_update(shop: Shop, payload: dict[str, Any], event: WebhookEvent) -> None:
    data = ShopifyCustomer.from_rest(payload)
    with accounts_watched(shop, [data.shopify_id]):
        upsert_shopify_customer(shop, data)


def on_account_state(shop: Shop, payload: dict[str, Any], event: WebhookEvent) -> None:
    """customers/enable and customers/disable: the account's state changed. Shopify sends them
    with customers/update; their state holds even if `updated_at` did not move."""
    data = ShopifyCustomer.from_rest(payload)
    with accounts_watched(shop, [data.shopify_id]):
        upsert_shopify_customer(shop, data, state_is_current=True)


def on_customers(shop: Shop, deliveries: list[tuple[dict[str, Any], WebhookEvent]]) -> None:
    """A run of customers/create and customers/update deliveries: upserted set-wise (the
    same rules as one by one: a customer's payloads apply in delivery order, stale ones
    change nothing)."""
    customers = [ShopifyCustomer.from_rest(p) for p, _ in deliveries]
    with accounts_watched(shop, [c.shopify_id for c in customers]):
        upsert_shopify_customers(shop, customers)


def on_delete(shop: Shop, payload: dict[str, Any], event: WebhookEvent) -> None:
    delete_shopify_customer(shop, int(payload["id"]), event.triggered_at or event.received_at)
