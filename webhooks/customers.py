"""customers/create, /update, /delete, /enable, /disable: keep Members and Guests true."""

from __future__ import annotations

from typing import Any

from shopify_app.platform.customer_store import (
    ShopifyCustomer,
    delete_shopify_customer,
    upsert_shopify_customer,
    upsert_shopify_customers,
)
from shopify_app.platform.models import Shop, WebhookEvent


def on_create(shop: Shop, payload: dict[str, Any], event: WebhookEvent) -> None:
    upsert_shopify_customer(shop, ShopifyCustomer.from_rest(payload))


def on_update(shop: Shop, payload: dict[str, Any], event: WebhookEvent) -> None:
    upsert_shopify_customer(shop, ShopifyCustomer.from_rest(payload))


def on_account_state(shop: Shop, payload: dict[str, Any], event: WebhookEvent) -> None:
    """customers/enable and customers/disable: the account's state changed. Shopify sends them
    with customers/update; their state holds even if `updated_at` did not move."""
    upsert_shopify_customer(shop, ShopifyCustomer.from_rest(payload), state_is_current=True)


def on_customers(shop: Shop, deliveries: list[tuple[dict[str, Any], WebhookEvent]]) -> None:
    """A run of customers/create and customers/update deliveries: upserted set-wise (the
    same rules as one by one: a customer's payloads apply in delivery order, stale ones
    change nothing)."""
    upsert_shopify_customers(shop, [ShopifyCustomer.from_rest(p) for p, _ in deliveries])


def on_delete(shop: Shop, payload: dict[str, Any], event: WebhookEvent) -> None:
    delete_shopify_customer(shop, int(payload["id"]), event.triggered_at or event.received_at)
