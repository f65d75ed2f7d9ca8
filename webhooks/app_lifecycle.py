"""app/uninstalled: the shop's token is dead; forget it so nothing calls Shopify with it, and
forget the shop's Klaviyo key and sync state, so nothing is sent to Klaviyo for it either."""

from __future__ import annotations

from typing import Any

from shopify_app.integrations.klaviyo.connection import disconnect as forget_klaviyo
from shopify_app.platform.models import Shop, WebhookEvent
from shopify_app.platform.shops import uninstall_shop


def on_uninstalled(shop: Shop, payload: dict[str, Any], event: WebhookEvent) -> None:
    """Uninstall, unless the shop reinstalled after this delivery was sent (a late delivery)."""
    if shop.installed_at is not None and shop.installed_at > event.received_at:
        return
    uninstall_shop(shop)
    forget_klaviyo(shop)
