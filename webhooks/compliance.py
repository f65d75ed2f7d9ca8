"""The mandatory compliance topics: customers/data_request, customers/redact, shop/redact."""

from __future__ import annotations

from typing import Any

from shopify_app.models import Shop, WebhookEvent
from shopify_app.services import compliance


def on_data_request(shop: Shop, payload: dict[str, Any], event: WebhookEvent) -> None:
    compliance.record_data_request(shop, payload)


def on_customer_redact(shop: Shop, payload: dict[str, Any], event: WebhookEvent) -> None:
    compliance.redact_customer(shop, payload)


def on_shop_redact(shop: Shop, payload: dict[str, Any], event: WebhookEvent) -> None:
    compliance.redact_shop(shop)
