"""ShopifyDouble: the local stand-in for Shopify that tests and the demo run the app against.

One threaded HTTP server serves many shops under `/{shop}/…`, so the app's real HTTP client code
runs unchanged with `SHOPIFY_API_BASE` pointing here. The Python methods are the "merchant and
Shopify" side: they add records, fire webhooks, mint session tokens and inject failures.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from flask import Flask
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from . import bulk, graphql_api, oauth
from .metafields import resolve_namespace
from .proxy import ParamValue, proxy_query
from .session_tokens import mint_session_token
from .state import (
    CUSTOMER_STATES,
    FINANCIAL_STATUSES,
    SHOP_DOMAIN,
    Customer,
    DiscountApplication,
    Order,
    Refund,
    Shop,
    Store,
    money,
    parse_gid,
)
from .throttle import Throttle
from .webhooks import (
    WebhookSender,
    compliance_payload,
    customer_delete_payload,
    customer_payload,
    order_payload,
    post_webhook,
    refund_payload,
    shop_payload,
    sign_webhook,
    webhook_headers,
)

DEFAULT_SCOPES = "read_customers,write_customers,read_orders,write_discounts"
DEFAULT_ACCESS_TOKEN_TTL = 3600
DEFAULT_API_CLIENT_ID = 4_711_001
DEFAULT_REFRESH_TOKEN_TTL = 7_776_000
CUSTOMER_FIELDS = frozenset(
    {
        "first_name",
        "last_name",
        "email",
        "state",
        "locale",
        "tags",
        "phone",
        "note",
        "verified_email",
    }
)
CURRENCIES = frozenset(graphql_api.SCHEMA.get_type("CurrencyCode").values)  # type: ignore[union-attr]


class _QuietHandler(WSGIRequestHandler):
    """Keeps test output clean; errors are still logged."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


def create_app(double: ShopifyDouble) -> Flask:
    """The double's WSGI app: OAuth, the Admin GraphQL API and bulk downloads."""
    app = Flask(__name__)
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["shopify_double"] = double
    app.register_blueprint(oauth.bp)
    app.register_blueprint(graphql_api.bp)
    app.register_blueprint(bulk.bp)
    app.add_url_rule("/health", "health", lambda: ("ok", 200, {"Content-Type": "text/plain"}))
    return app


def _record_id(value: Mapping[str, Any] | int | str) -> int:
    """Methods accept a record dict as returned by the double, a numeric id or a gid."""
    raw = value["id"] if isinstance(value, Mapping) else value
    number = parse_gid(raw) if isinstance(raw, str) else int(raw)
    if number is None:
        raise ValueError(f"not an id: {raw!r}")
    return number


class ShopifyDouble:
    """A faithful local Shopify for one app: many shops, OAuth, GraphQL Admin API, webhooks."""

    def __init__(
        self,
        api_key: str = "key",
        api_secret: str = "secret",
        app_url: str = "http://127.0.0.1:5000",
        api_version: str = "2026-10",
        *,
        scopes: str = DEFAULT_SCOPES,
        api_client_id: int = DEFAULT_API_CLIENT_ID,
    ) -> None:
        self.api_key = api_key
        #: Shopify's numeric id of the app: its reserved namespaces are `app--<id>…`.
        self.api_client_id = api_client_id
        self.api_secret = api_secret
        self.app_url = app_url.rstrip("/")
        self.api_version = api_version
        self.scopes = scopes
        self.store = Store()
        self.throttle = Throttle()
        self.webhook_sender: WebhookSender = post_webhook
        self.base_url = ""
        self.app = create_app(self)
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self.reset()

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve in a background thread; returns the base URL (the real port when port=0)."""
        if self._server is not None:
            raise RuntimeError("the Shopify double is already running")
        self._server = make_server(
            host, port, self.app, threaded=True, request_handler=_QuietHandler
        )
        self.base_url = f"http://{host}:{self._server.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="shopify-double", daemon=True
        )
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        """Shut the server down and wait for its thread."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    @property
    def api_base(self) -> str:
        """The app's `SHOPIFY_API_BASE` for this double."""
        return self.base_url + "/{shop}"

    def reset(self) -> None:
        """Forget every shop, token, call record and setting a test may have changed."""
        with self.store.lock:
            self.store.reset()
            self.throttle.configure()
            self.throttle.reset()
            self.access_token_ttl = DEFAULT_ACCESS_TOKEN_TTL
            self.refresh_token_ttl = DEFAULT_REFRESH_TOKEN_TTL
            self.bulk_delay = 0.0
            self.deliveries: list[dict[str, Any]] = []
            self.graphql_calls: list[dict[str, Any]] = []
            self.token_requests: list[dict[str, Any]] = []
            self._failures: deque[tuple[int, float]] = deque()

    def add_shop(
        self,
        domain: str,
        *,
        name: str | None = None,
        email: str | None = None,
        currency: str = "USD",
        locale: str = "en",
        timezone: str = "America/New_York",
        shop_id: int | None = None,
    ) -> dict:
        """Create a shop the app can install on; its domain must be a valid myshopify.com one."""
        if not SHOP_DOMAIN.fullmatch(domain):
            raise ValueError(f"not a myshopify.com domain: {domain!r}")
        if currency not in CURRENCIES:
            raise ValueError(f"currency not in the double's CurrencyCode enum: {currency}")
        handle = domain.removesuffix(".myshopify.com")
        with self.store.lock:
            if domain in self.store.shops:
                raise ValueError(f"shop already exists: {domain}")
            shop = Shop(
                id=shop_id or self.store.next_id("Shop"),
                domain=domain,
                name=name or handle.replace("-", " ").title(),
                email=email or f"owner@{handle}.example",
                currency=currency,
                locale=locale,
                timezone=timezone,
                created_at=self.store.clock.now(),
            )
            self.store.shops[domain] = shop
            return shop.to_dict()

    def shop(self, domain: str) -> dict:
        with self.store.lock:
            return self.store.shop(domain).to_dict()

    def shop_payload(self, shop: str) -> dict:
        """REST shop JSON, the `app/uninstalled` body."""
        with self.store.lock:
            return shop_payload(self.store.shop(shop))

    def uninstall_app(self, shop: str, *, notify: bool = True) -> None:
        """The merchant removes the app: tokens die and `app/uninstalled` is delivered."""
        with self.store.lock:
            shop_obj = self.store.shop(shop)
            shop_obj.installed = False
            for token in self.store.access_tokens.values():
                if token.shop == shop:
                    token.revoked = True
            for refresh in self.store.refresh_tokens.values():
                if refresh.shop == shop:
                    refresh.used = True
            payload = shop_payload(shop_obj)
        if notify:
            self.deliver_webhook("app/uninstalled", shop, payload)

    def add_customer(
        self,
        shop: str,
        *,
        first_name: str = "",
        last_name: str = "",
        email: str | None = None,
        state: str = "ENABLED",
        locale: str = "en",
        tags: Iterable[str] = (),
        id: int | None = None,
        notify: bool = False,
    ) -> dict:
        """Create a customer; `notify` delivers `customers/create` to the app."""
        state = state.upper()
        if state not in CUSTOMER_STATES:
            raise ValueError(f"customer state must be one of {CUSTOMER_STATES}: {state}")
        with self.store.lock:
            shop_obj = self.store.shop(shop)
            self._check_email_free(shop_obj, email, None)
            number = id if id is not None else self.store.next_id("Customer")
            if number in shop_obj.customers:
                raise ValueError(f"customer {number} already exists")
            now = self.store.clock.now()
            customer = Customer(
                id=number,
                first_name=first_name,
                last_name=last_name,
                email=email,
                state=state,
                locale=locale,
                tags=list(tags),
                created_at=now,
                updated_at=now,
            )
            shop_obj.customers[number] = customer
            payload = customer_payload(shop_obj, customer)
        if notify:
            self.deliver_webhook("customers/create", shop, payload)
        return customer.to_dict()

    @staticmethod
    def _check_email_free(shop: Shop, email: str | None, customer_id: int | None) -> None:
        """Shopify rejects a second customer with the same email (case-insensitive)."""
        if not email:
            return
        for other in shop.customers.values():
            if other.id != customer_id and (other.email or "").lower() == email.lower():
                raise ValueError(f"Email has already been taken: {email}")

    def update_customer(
        self,
        shop: str,
        customer_id: int | str,
        notify: bool = False,
        *,
        touch: bool = True,
        **fields: Any,
    ) -> dict:
        """Change fields and bump `updated_at` (strictly increasing, even within a second).

        `touch=False` leaves `updated_at` as it was, as Shopify's one-time update did when it
        enabled customers who had signed in to customer accounts since May 2024 (it sent no
        webhooks either: leave `notify` off to replay it).
        """
        unknown = set(fields) - CUSTOMER_FIELDS
        if unknown:
            raise TypeError(f"unknown customer fields: {sorted(unknown)}")
        if "state" in fields:
            fields["state"] = str(fields["state"]).upper()
            if fields["state"] not in CUSTOMER_STATES:
                raise ValueError(f"customer state must be one of {CUSTOMER_STATES}")
        if "tags" in fields:
            fields["tags"] = list(fields["tags"])
        with self.store.lock:
            shop_obj = self.store.shop(shop)
            customer = shop_obj.customer(_record_id(customer_id))
            if "email" in fields:
                self._check_email_free(shop_obj, fields["email"], customer.id)
            for name, value in fields.items():
                setattr(customer, name, value)
            if touch:
                customer.updated_at = self.store.clock.now()
            payload = customer_payload(shop_obj, customer)
        if notify:
            self.deliver_webhook("customers/update", shop, payload)
        return customer.to_dict()

    def sign_in_customer(self, shop: str, customer_id: int | str, notify: bool = True) -> dict:
        """A first sign-in to customer accounts: the state becomes ENABLED and Shopify sends
        `customers/enable`, then `customers/update` (a later sign-in changes nothing)."""
        return self._set_account_state(shop, customer_id, "ENABLED", notify)

    def disable_customer(self, shop: str, customer_id: int | str, notify: bool = True) -> dict:
        """The merchant disables the customer's account: `customers/disable` and `/update`."""
        return self._set_account_state(shop, customer_id, "DISABLED", notify)

    def _set_account_state(
        self, shop: str, customer_id: int | str, state: str, notify: bool
    ) -> dict:
        with self.store.lock:
            shop_obj = self.store.shop(shop)
            customer = shop_obj.customer(_record_id(customer_id))
            changed = customer.state != state
            if changed:
                customer.state = state
                customer.updated_at = self.store.clock.now()
            payload = customer_payload(shop_obj, customer)
        if notify and changed:
            topic = "customers/enable" if state == "ENABLED" else "customers/disable"
            self.deliver_webhook(topic, shop, payload)
            self.deliver_webhook("customers/update", shop, payload)
        return customer.to_dict()

    def delete_customer(self, shop: str, customer_id: int | str, notify: bool = False) -> None:
        """Delete a customer; like Shopify, one with orders cannot be deleted."""
        with self.store.lock:
            shop_obj = self.store.shop(shop)
            customer = shop_obj.customer(_record_id(customer_id))
            if shop_obj.orders_of(customer.id):
                raise ValueError("Error deleting customer: customer has existing orders")
            del shop_obj.customers[customer.id]
        if notify:
            self.deliver_webhook("customers/delete", shop, customer_delete_payload(customer.id))

    def customers(self, shop: str) -> list[dict]:
        with self.store.lock:
            shop_obj = self.store.shop(shop)
            return [c.to_dict() for _, c in sorted(shop_obj.customers.items())]

    def customer_payload(self, shop: str, customer: Mapping[str, Any] | int | str) -> dict:
        """REST customer JSON as `customers/*` webhooks carry it."""
        with self.store.lock:
            shop_obj = self.store.shop(shop)
            return customer_payload(shop_obj, shop_obj.customer(_record_id(customer)))

    def add_order(
        self,
        shop: str,
        *,
        customer_id: int | str | None = None,
        email: str | None = None,
        total: Decimal | str | int | float = "10.00",
        currency: str | None = None,
        discount_codes: Sequence[str | Mapping[str, Any]] = (),
        financial_status: str = "paid",
        id: int | None = None,
        notify_topics: Iterable[str] = (),
    ) -> dict:
        """Record an order; `total` is what the buyer paid, after discounts.

        Args:
            currency: defaults to the shop's currency.
            discount_codes: codes (amounts worked out from the shop's discounts) or REST-style
                dicts `{code, amount, type}`.
            notify_topics: webhooks to deliver, e.g. ("orders/create", "orders/paid").
        """
        if financial_status not in FINANCIAL_STATUSES:
            raise ValueError(f"financial_status must be one of {FINANCIAL_STATUSES}")
        paid = money(total)
        with self.store.lock:
            shop_obj = self.store.shop(shop)
            customer = shop_obj.customer(_record_id(customer_id)) if customer_id else None
            number = id if id is not None else self.store.next_id("Order")
            if number in shop_obj.orders:
                raise ValueError(f"order {number} already exists")
            applications = [self._discount_application(shop_obj, d, paid) for d in discount_codes]
            now = self.store.clock.now()
            order = Order(
                id=number,
                number=shop_obj.next_order_number,
                customer_id=customer.id if customer else None,
                email=email if email is not None else (customer.email if customer else None),
                total=paid,
                subtotal=paid + sum((a.amount for a in applications), Decimal("0.00")),
                currency=currency or shop_obj.currency,
                discount_codes=applications,
                financial_status=financial_status,
                created_at=now,
                updated_at=now,
                processed_at=now,
                line_item_id=self.store.next_id("LineItem"),
            )
            shop_obj.next_order_number += 1
            shop_obj.orders[number] = order
            payload = order_payload(shop_obj, order)
        for topic in notify_topics:
            self.deliver_webhook(topic, shop, payload)
        return order.to_dict()

    @staticmethod
    def _discount_application(
        shop: Shop, entry: str | Mapping[str, Any], paid: Decimal
    ) -> DiscountApplication:
        """How much a code took off, from the shop's discount when the code is one of them."""
        if isinstance(entry, Mapping):
            discount = shop.discount_by_code(str(entry["code"]))
            if discount is not None:
                discount.usage_count += 1
            return DiscountApplication(
                str(entry["code"]),
                money(entry.get("amount", "0.00")),
                str(entry.get("type", "fixed_amount")),
            )
        discount = shop.discount_by_code(entry)
        if discount is None:
            return DiscountApplication(entry, Decimal("0.00"), "fixed_amount")
        discount.usage_count += 1
        if "percentage" in discount.value:
            rate = Decimal(str(discount.value["percentage"]))
            subtotal = money(paid / (1 - rate)) if rate < 1 else paid
            return DiscountApplication(discount.code, subtotal - paid, "percentage")
        return DiscountApplication(discount.code, money(discount.value["amount"]), "fixed_amount")

    def cancel_order(
        self, shop: str, order_id: int | str, notify: bool = False, *, reason: str = "customer"
    ) -> dict:
        with self.store.lock:
            shop_obj = self.store.shop(shop)
            order = shop_obj.order(_record_id(order_id))
            now = self.store.clock.now()
            order.cancelled_at = now
            order.cancel_reason = reason
            order.updated_at = now
            payload = order_payload(shop_obj, order)
        if notify:
            self.deliver_webhook("orders/cancelled", shop, payload)
        return order.to_dict()

    def refund_order(
        self,
        shop: str,
        order_id: int | str,
        amount: Decimal | str | int | float | None = None,
        notify: bool = False,
    ) -> dict:
        """Refund part or (by default) all of what is left; returns the refund."""
        with self.store.lock:
            shop_obj = self.store.shop(shop)
            order = shop_obj.order(_record_id(order_id))
            left = order.total - order.refunded
            value = left if amount is None else money(amount)
            if value <= 0 or value > left:
                raise ValueError(f"refund must be between 0.01 and {left}")
            now = self.store.clock.now()
            refund = Refund(
                id=self.store.next_id("Refund"),
                order_id=order.id,
                amount=value,
                currency=order.currency,
                created_at=now,
                transaction_id=self.store.next_id("Transaction"),
            )
            order.refunds.append(refund)
            order.financial_status = "refunded" if value == left else "partially_refunded"
            order.updated_at = now
            payload = refund_payload(shop_obj, refund)
        if notify:
            self.deliver_webhook("refunds/create", shop, payload)
        return refund.to_dict()

    def orders(self, shop: str) -> list[dict]:
        with self.store.lock:
            shop_obj = self.store.shop(shop)
            return [o.to_dict() for _, o in sorted(shop_obj.orders.items())]

    def order_payload(self, shop: str, order: Mapping[str, Any] | int | str) -> dict:
        """REST order JSON as `orders/*` webhooks carry it."""
        with self.store.lock:
            shop_obj = self.store.shop(shop)
            return order_payload(shop_obj, shop_obj.order(_record_id(order)))

    def refund_payload(self, shop: str, refund: Mapping[str, Any] | int | str) -> dict:
        """REST refund JSON as `refunds/create` carries it."""
        with self.store.lock:
            shop_obj = self.store.shop(shop)
            return refund_payload(shop_obj, shop_obj.refund(_record_id(refund)))

    def app_namespace(self, namespace: str | None = None) -> str:
        """The namespace `$app:<namespace>` resolves to for this app."""
        return resolve_namespace(namespace and f"$app:{namespace}", self.api_client_id)

    def metafields(self, shop: str) -> list[dict]:
        """Every metafield the shop's customers hold, as `metafieldsSet` stored them."""
        with self.store.lock:
            return [m.to_dict() for m in self.store.shop(shop).metafields.values()]

    def metafield_value(
        self, shop: str, customer: Mapping[str, Any] | int | str, key: str, namespace: str
    ) -> str | None:
        """A customer's metafield value (namespace as stored, e.g. `app--<id>--loyalty`)."""
        with self.store.lock:
            found = self.store.shop(shop).metafields.get((_record_id(customer), namespace, key))
            return found.value if found else None

    def discount_codes(self, shop: str) -> list[dict]:
        """Discounts the app created through `discountCodeBasicCreate`."""
        with self.store.lock:
            shop_obj = self.store.shop(shop)
            return [d.to_dict() for _, d in sorted(shop_obj.discounts.items())]

    def compliance_payload(
        self, topic: str, shop: str, customer: Mapping[str, Any] | int | str | None = None
    ) -> dict:
        """`customers/data_request`, `customers/redact` or `shop/redact` body."""
        with self.store.lock:
            shop_obj = self.store.shop(shop)
            found = shop_obj.customer(_record_id(customer)) if customer is not None else None
            return compliance_payload(
                topic, shop_obj, found, data_request_id=self.store.next_id("DataRequest")
            )

    def access_tokens(self, shop: str) -> list[str]:
        """Access tokens currently valid for the shop."""
        now = datetime.now(UTC)
        with self.store.lock:
            return [
                t.token
                for t in self.store.access_tokens.values()
                if t.shop == shop and t.valid(now)
            ]

    def expire_access_tokens(self, shop: str) -> None:
        """Make the shop's access tokens expired: the next Admin API call gets 401."""
        past = datetime.now(UTC) - timedelta(seconds=1)
        with self.store.lock:
            for token in self.store.access_tokens.values():
                if token.shop == shop:
                    token.expires_at = past

    def session_token(
        self,
        shop: str,
        *,
        user_id: int = 1,
        exp_in: int = 60,
        nbf_offset: int = -5,
        secret: str | None = None,
        aud: str | None = None,
        dest: str | None = None,
        iss: str | None = None,
        alg: str = "HS256",
        extra: dict[str, Any] | None = None,
    ) -> str:
        """An App Bridge session token as Shopify mints it; overrides make broken ones."""
        return mint_session_token(
            shop,
            api_key=self.api_key,
            api_secret=self.api_secret,
            user_id=user_id,
            exp_in=exp_in,
            nbf_offset=nbf_offset,
            secret=secret,
            aud=aud,
            dest=dest,
            iss=iss,
            alg=alg,
            extra=extra,
        )

    def sign(self, body: bytes) -> str:
        """Base64 HMAC-SHA256 of a webhook body with the app secret."""
        return sign_webhook(body, self.api_secret)

    def webhook_headers(
        self,
        topic: str,
        shop: str,
        body: bytes,
        *,
        webhook_id: str | None = None,
        event_id: str | None = None,
        triggered_at: str | None = None,
        api_version: str | None = None,
    ) -> dict[str, str]:
        """The `X-Shopify-*` headers of a delivery of `body`, signed."""
        return webhook_headers(
            topic,
            shop,
            body,
            secret=self.api_secret,
            api_version=api_version or self.api_version,
            webhook_id=webhook_id,
            event_id=event_id,
            triggered_at=triggered_at,
        )

    def deliver_webhook(
        self,
        topic: str,
        shop: str,
        payload: Mapping[str, Any] | bytes,
        *,
        webhook_id: str | None = None,
        event_id: str | None = None,
        timeout: float = 10,
    ) -> Any:
        """POST a signed delivery to `app_url + "/webhooks"` and record it in `deliveries`."""
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        headers = self.webhook_headers(topic, shop, body, webhook_id=webhook_id, event_id=event_id)
        record = {
            "topic": topic,
            "shop": shop,
            "webhook_id": headers["X-Shopify-Webhook-Id"],
            "event_id": headers["X-Shopify-Event-Id"],
            "status": None,
            "payload": payload if isinstance(payload, Mapping) else None,
        }
        with self.store.lock:
            self.deliveries.append(record)
        response = self.webhook_sender(f"{self.app_url}/webhooks", body, headers, timeout)
        record["status"] = response.status_code
        return response

    def proxy_query(
        self,
        shop: str,
        path_prefix: str = "/apps/referrals",
        params: Mapping[str, ParamValue] | None = None,
        *,
        timestamp: int | None = None,
        logged_in_customer_id: str | int = "",
    ) -> dict[str, ParamValue]:
        """The signed query string Shopify's app proxy adds to a storefront request."""
        return proxy_query(
            shop,
            self.api_secret,
            path_prefix,
            params,
            timestamp=timestamp,
            logged_in_customer_id=logged_in_customer_id,
        )

    def configure_throttle(self, bucket: float = 2000.0, restore_rate: float = 100.0) -> None:
        """Resize the cost bucket (all shops start full again)."""
        self.throttle.configure(bucket, restore_rate)

    def throttle_next(self, n: int = 1) -> None:
        """The next n GraphQL calls answer THROTTLED whatever the bucket holds."""
        self.throttle.force(n)

    def fail_next(self, status: int = 500, n: int = 1, *, retry_after: float = 1.0) -> None:
        """The next n GraphQL calls answer this HTTP status (429 and 503 with Retry-After)."""
        with self.store.lock:
            self._failures.extend([(status, retry_after)] * n)

    def take_failure(self) -> tuple[int, float] | None:
        """The next injected failure, if any; used by the GraphQL endpoint."""
        with self.store.lock:
            return self._failures.popleft() if self._failures else None
