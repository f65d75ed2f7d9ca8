"""Every webhook topic the app handles and the plain function that handles it.

Handlers take `(shop, payload, event)`, never commit, are idempotent, and ignore stale updates.
`shopify.app.toml` subscribes to exactly these topics.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shopify_app.platform.models import Shop, WebhookEvent
from webhooks import app_lifecycle, compliance, customers, orders

Handler = Callable[[Shop, dict[str, Any], WebhookEvent], None]
RunHandler = Callable[[Shop, list[tuple[dict[str, Any], WebhookEvent]]], None]

TOPICS: dict[str, Handler] = {
    "customers/create": customers.on_create,
    "customers/update": customers.on_update,
    "customers/delete": customers.on_delete,
    "customers/enable": customers.on_account_state,
    "customers/disable": customers.on_account_state,
    "orders/create": orders.on_order,
    "orders/paid": orders.on_order,
    "orders/updated": orders.on_order,
    "orders/cancelled": orders.on_cancelled,
    "refunds/create": orders.on_refund,
    "app/uninstalled": app_lifecycle.on_uninstalled,
    "customers/data_request": compliance.on_data_request,
    "customers/redact": compliance.on_customer_redact,
    "shop/redact": compliance.on_shop_redact,
}

#: topics whose deliveries a drain batch may also hand over as a run: consecutive deliveries
#: of one shop whose topics share a run handler go to it in one call, to be handled set-wise.
#: The result must be the one the deliveries would give one by one through `TOPICS`.
RUNS: dict[str, RunHandler] = {
    "customers/create": customers.on_customers,
    "customers/update": customers.on_customers,
    "orders/create": orders.on_orders,
    "orders/paid": orders.on_orders,
    "orders/updated": orders.on_orders,
}

#: topics still processed for a shop that has uninstalled the app.
UNINSTALLED_SHOP_TOPICS = frozenset(
    {"shop/redact", "customers/redact", "customers/data_request", "app/uninstalled"}
)
