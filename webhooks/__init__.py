"""Blueprint "webhooks": POST /webhooks — verify, record, enqueue, answer.

The HMAC is checked on the raw bytes before anything is parsed; the delivery is stored
(deduplicated on its webhook id) before it is queued, so a delivery that got a 2xx is never
lost even when Redis is down: the sweeper queues what is still waiting.
"""

from __future__ import annotations

from flask import Blueprint, current_app, request

from shopify_app.shopify.signatures import verify_webhook
from webhooks.intake import WebhookDelivery, accept_delivery

bp = Blueprint("webhooks", __name__)


def _header(name: str) -> str | None:
    """Shopify's `X-Shopify-*` header, or the newer `Shopify-*` name where present."""
    return request.headers.get(f"X-Shopify-{name}") or request.headers.get(f"Shopify-{name}")


@bp.post("/webhooks")
def receive():
    body = request.get_data(cache=False)
    if not verify_webhook(body, _header("Hmac-Sha256"), current_app.config["SHOPIFY_API_SECRET"]):
        return {"error": "invalid hmac"}, 401
    delivery = WebhookDelivery(
        topic=(_header("Topic") or "").strip().lower(),
        shop_domain=_header("Shop-Domain") or "",
        webhook_id=_header("Webhook-Id") or _header("Event-Id"),
        api_version=_header("API-Version"),
        triggered_at=_header("Triggered-At"),
        body=body,
    )
    outcome, status = accept_delivery(delivery)
    return {"result": outcome}, status
