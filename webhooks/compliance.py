"""The mandatory compliance topics: customers/data_request, customers/redact, shop/redact.

Each acts on the shop of the delivery's header only when the signed payload's `shop_domain`
names that same shop: a contradiction is refused (recorded as failed), so neither shop is ever
exported or erased on the other's say. `shop/redact` erases only a shop that has uninstalled
the app; Shopify sends it 48 hours after the uninstall.
"""

from __future__ import annotations

import logging
from typing import Any

from shopify_app.platform.auth.shop_domain import normalize_shop_domain
from shopify_app.platform.errors import DeliveryRefused, InvalidShopDomain
from shopify_app.platform.models import Shop, WebhookEvent
from shopify_app.privacy import requests as compliance
from shopify_app.privacy.shop_redact import redact_shop

log = logging.getLogger(__name__)


def ensure_payload_names_shop(shop: Shop, payload: dict[str, Any]) -> None:
    """Refuse a delivery whose signed `shop_domain` is missing or names another shop."""
    named = payload.get("shop_domain")
    try:
        matches = isinstance(named, str) and normalize_shop_domain(named) == shop.domain
    except InvalidShopDomain:
        matches = False
    if not matches:
        raise DeliveryRefused(f"the payload names shop {named!r}, the header {shop.domain}")


def on_data_request(shop: Shop, payload: dict[str, Any], event: WebhookEvent) -> None:
    ensure_payload_names_shop(shop, payload)
    compliance.record_data_request(shop, payload)


def on_customer_redact(shop: Shop, payload: dict[str, Any], event: WebhookEvent) -> None:
    ensure_payload_names_shop(shop, payload)
    compliance.redact_customer(shop, payload)


def on_shop_redact(shop: Shop, payload: dict[str, Any], event: WebhookEvent) -> None:
    """Erase the shop, unless it has the app installed (then nothing changes; it is logged)."""
    ensure_payload_names_shop(shop, payload)
    if shop.is_installed:
        log.warning("shop/redact for %s ignored: the app is installed there", shop.domain)
        return
    redact_shop(shop)
