"""Webhooks as Shopify sends them: REST Admin API JSON payloads, signed headers, delivery.

Payload shapes follow the REST resources of the pinned API version, because webhook bodies are
REST JSON even for apps that otherwise only speak GraphQL.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import requests

from .state import Customer, Order, Refund, Shop, gid, iso

WebhookSender = Callable[[str, bytes, dict[str, str], float], Any]
COMPLIANCE_TOPICS = ("customers/data_request", "customers/redact", "shop/redact")


def sign_webhook(body: bytes, secret: str) -> str:
    """Base64 HMAC-SHA256 of the raw body: the `X-Shopify-Hmac-Sha256` header."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def webhook_headers(
    topic: str,
    shop: str,
    body: bytes,
    *,
    secret: str,
    api_version: str,
    webhook_id: str | None = None,
    event_id: str | None = None,
    triggered_at: str | None = None,
) -> dict[str, str]:
    """The headers of one delivery."""
    if triggered_at is None:
        triggered_at = datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
    return {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": sign_webhook(body, secret),
        "X-Shopify-Shop-Domain": shop,
        "X-Shopify-API-Version": api_version,
        "X-Shopify-Webhook-Id": webhook_id or str(uuid.uuid4()),
        "X-Shopify-Event-Id": event_id or str(uuid.uuid4()),
        "X-Shopify-Triggered-At": triggered_at,
        "User-Agent": "Shopify-Captain-Hook",
    }


def post_webhook(url: str, body: bytes, headers: dict[str, str], timeout: float) -> Any:
    """Default sender: a real HTTP POST, as Shopify makes it."""
    with requests.Session() as session:
        return session.post(url, data=body, headers=headers, timeout=timeout)


def _cents(value: Decimal) -> str:
    return f"{value:.2f}"


def _money_set(value: Decimal, currency: str) -> dict:
    amount = {"amount": _cents(value), "currency_code": currency}
    return {"shop_money": amount, "presentment_money": dict(amount)}


def customer_payload(shop: Shop, customer: Customer) -> dict:
    """REST customer JSON, as `customers/create` and `customers/update` deliver it.

    Since 2025-01 customer payloads carry no `tags` (Shopify sends `customer.tags_added` and
    `customer.tags_removed` instead) and no `email_marketing_consent` or
    `sms_marketing_consent` (their own topics): an app reads those through GraphQL.
    """
    orders = sorted(shop.orders_of(customer.id), key=lambda o: o.created_at)
    spent = sum((o.total - o.refunded for o in orders), Decimal("0.00"))
    last = orders[-1] if orders else None
    return {
        "id": customer.id,
        "email": customer.email,
        "created_at": iso(customer.created_at),
        "updated_at": iso(customer.updated_at),
        "first_name": customer.first_name or None,
        "last_name": customer.last_name or None,
        "orders_count": len(orders),
        "state": customer.state.lower(),
        "total_spent": _cents(spent),
        "last_order_id": last.id if last else None,
        "note": customer.note,
        "verified_email": customer.verified_email,
        "multipass_identifier": None,
        "tax_exempt": False,
        "last_order_name": last.name if last else None,
        "currency": shop.currency,
        "phone": customer.phone,
        "locale": customer.locale,
        "addresses": [],
        "tax_exemptions": [],
        "admin_graphql_api_id": gid("Customer", customer.id),
    }


def customer_delete_payload(customer_id: int) -> dict:
    """`customers/delete` carries only the id and empty collections."""
    return {
        "id": customer_id,
        "phone": None,
        "addresses": [],
        "tax_exemptions": [],
        "admin_graphql_api_id": gid("Customer", customer_id),
    }


def _order_customer(shop: Shop, order: Order) -> dict | None:
    """The order's customer, shaped like every customer payload since 2025-01 (no tags or
    marketing consent)."""
    customer = shop.customers.get(order.customer_id) if order.customer_id else None
    if customer is None:
        return None
    return {
        "id": customer.id,
        "email": customer.email,
        "created_at": iso(customer.created_at),
        "updated_at": iso(customer.updated_at),
        "first_name": customer.first_name or None,
        "last_name": customer.last_name or None,
        "state": customer.state.lower(),
        "note": customer.note,
        "verified_email": customer.verified_email,
        "multipass_identifier": None,
        "tax_exempt": False,
        "phone": customer.phone,
        "currency": shop.currency,
        "tax_exemptions": [],
        "admin_graphql_api_id": gid("Customer", customer.id),
    }


def order_payload(shop: Shop, order: Order) -> dict:
    """REST order JSON, as the `orders/*` topics deliver it."""
    current = order.total - order.refunded
    discounts = order.total_discounts
    return {
        "id": order.id,
        "admin_graphql_api_id": gid("Order", order.id),
        "app_id": None,
        "buyer_accepts_marketing": False,
        "cancel_reason": order.cancel_reason,
        "cancelled_at": iso(order.cancelled_at),
        "confirmation_number": f"X{order.id % 100_000_000:08d}",
        "confirmed": True,
        "contact_email": order.email,
        "created_at": iso(order.created_at),
        "currency": order.currency,
        "current_subtotal_price": _cents(order.subtotal - discounts - order.refunded),
        "current_total_discounts": _cents(discounts),
        "current_total_price": _cents(current),
        "current_total_price_set": _money_set(current, order.currency),
        "current_total_tax": "0.00",
        "customer_locale": "en",
        "discount_codes": [d.to_dict() for d in order.discount_codes],
        "email": order.email,
        "financial_status": order.financial_status,
        "fulfillment_status": None,
        "name": order.name,
        "note": None,
        "number": order.number - 1000,
        "order_number": order.number,
        "presentment_currency": order.currency,
        "processed_at": iso(order.processed_at),
        "source_name": "web",
        "subtotal_price": _cents(order.subtotal - discounts),
        "subtotal_price_set": _money_set(order.subtotal - discounts, order.currency),
        "tags": "",
        "test": False,
        "total_discounts": _cents(discounts),
        "total_discounts_set": _money_set(discounts, order.currency),
        "total_line_items_price": _cents(order.subtotal),
        "total_outstanding": "0.00",
        "total_price": _cents(order.total),
        "total_price_set": _money_set(order.total, order.currency),
        "total_tax": "0.00",
        "updated_at": iso(order.updated_at),
        "user_id": None,
        "customer": _order_customer(shop, order),
        "line_items": [
            {
                "id": order.line_item_id,
                "admin_graphql_api_id": gid("LineItem", order.line_item_id),
                "name": "Gift card",
                "title": "Gift card",
                "price": _cents(order.subtotal),
                "price_set": _money_set(order.subtotal, order.currency),
                "quantity": 1,
                "sku": "",
                "product_id": None,
                "variant_id": None,
                "requires_shipping": False,
                "taxable": False,
                "total_discount": "0.00",
            }
        ],
        "refunds": [refund_payload(shop, r) for r in order.refunds],
    }


def refund_payload(shop: Shop, refund: Refund) -> dict:
    """REST refund JSON, as `refunds/create` delivers it."""
    stamp = iso(refund.created_at)
    return {
        "id": refund.id,
        "admin_graphql_api_id": gid("Refund", refund.id),
        "order_id": refund.order_id,
        "created_at": stamp,
        "processed_at": stamp,
        "note": refund.note,
        "restock": False,
        "user_id": None,
        "duties": [],
        "refund_line_items": [],
        "order_adjustments": [],
        "transactions": [
            {
                "id": refund.transaction_id,
                "admin_graphql_api_id": gid("OrderTransaction", refund.transaction_id),
                "order_id": refund.order_id,
                "kind": "refund",
                "gateway": "bogus",
                "status": "success",
                "message": "Bogus Gateway: Forced success",
                "created_at": stamp,
                "processed_at": stamp,
                "test": True,
                "amount": _cents(refund.amount),
                "currency": refund.currency,
                "parent_id": None,
                "source_name": "web",
                "error_code": None,
            }
        ],
    }


def shop_payload(shop: Shop) -> dict:
    """REST shop JSON, as `app/uninstalled` delivers it."""
    return {
        "id": shop.id,
        "name": shop.name,
        "email": shop.email,
        "domain": shop.domain,
        "province": "New York",
        "country": "US",
        "address1": "1 Main Street",
        "zip": "10001",
        "city": "New York",
        "source": None,
        "phone": "",
        "created_at": iso(shop.created_at),
        "updated_at": iso(shop.created_at),
        "customer_email": shop.email,
        "country_code": "US",
        "country_name": "United States",
        "currency": shop.currency,
        "timezone": shop.timezone,
        "iana_timezone": shop.timezone,
        "shop_owner": shop.name,
        "money_format": "${{amount}}",
        "money_with_currency_format": f"${{{{amount}}}} {shop.currency}",
        "primary_locale": shop.locale,
        "plan_name": "partner_test",
        "plan_display_name": "Developer Preview",
        "myshopify_domain": shop.domain,
        "password_enabled": True,
        "has_storefront": True,
        "enabled_presentment_currencies": [shop.currency],
    }


def compliance_payload(
    topic: str, shop: Shop, customer: Customer | None = None, *, data_request_id: int = 9999
) -> dict:
    """The mandatory compliance webhook bodies, field for field as Shopify documents them."""
    if topic not in COMPLIANCE_TOPICS:
        raise ValueError(f"not a compliance topic: {topic}")
    payload: dict[str, Any] = {"shop_id": shop.id, "shop_domain": shop.domain}
    if topic == "shop/redact":
        return payload
    if customer is None:
        raise ValueError(f"{topic} needs a customer")
    order_ids = [o.id for o in shop.orders_of(customer.id)]
    payload["customer"] = {"id": customer.id, "email": customer.email, "phone": customer.phone}
    if topic == "customers/data_request":
        payload["orders_requested"] = order_ids
        payload["data_request"] = {"id": data_request_id}
    else:
        payload["orders_to_redact"] = order_ids
    return payload
