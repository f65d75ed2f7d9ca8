"""In-memory state of the double: shops and what they hold, tokens, ids and a clock.

Everything lives behind one re-entrant lock because the HTTP server is threaded and tests mutate
state from the main thread while the app under test calls in.
"""

from __future__ import annotations

import itertools
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

CUSTOMER_STATES = ("ENABLED", "DISABLED", "INVITED", "DECLINED")
FINANCIAL_STATUSES = (
    "pending",
    "authorized",
    "partially_paid",
    "paid",
    "partially_refunded",
    "refunded",
    "voided",
)
SHOP_DOMAIN = re.compile(r"[a-z0-9][a-z0-9-]*\.myshopify\.com")
CENT = Decimal("0.01")


class UnknownShop(KeyError):
    """The double holds no shop with that domain."""


class UnknownCustomer(KeyError):
    """The shop holds no customer with that id."""


class UnknownOrder(KeyError):
    """The shop holds no order with that id."""


class UnknownRefund(KeyError):
    """The shop holds no refund with that id."""


def iso(moment: datetime | None) -> str | None:
    """Render a time as Shopify does in JSON: UTC, millisecond precision, trailing Z."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time(value: str) -> datetime:
    """Parse an ISO 8601 time or date as Shopify's search syntax accepts it; naive means UTC."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


def money(value: Decimal | str | int | float) -> Decimal:
    """Money as Decimal cents; floats go through str so 0.1 stays 0.10."""
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


def gid(kind: str, number: int) -> str:
    """A Shopify global id such as gid://shopify/Customer/7100000000001."""
    return f"gid://shopify/{kind}/{number}"


def parse_gid(value: str | int | None, kind: str | None = None) -> int | None:
    """The numeric part of a global id (or a bare number), or None when it does not parse."""
    if value is None:
        return None
    if isinstance(value, int):
        return value
    match = re.fullmatch(r"gid://shopify/(\w+)/(\d+)(?:\?.*)?", value.strip())
    if match:
        if kind is not None and match.group(1) != kind:
            return None
        return int(match.group(2))
    return int(value) if value.strip().isdigit() else None


class Clock:
    """Hands out strictly increasing UTC times, whole milliseconds, at least 1 ms apart.

    Apps order webhooks and `updated_at:>` searches by these stamps, so two events must never
    tie even within one millisecond, and the stored value must equal the rendered one (else a
    search for "after the stamp I saw" would return that same record again).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: datetime | None = None

    def now(self) -> datetime:
        with self._lock:
            moment = datetime.now(UTC)
            moment = moment.replace(microsecond=moment.microsecond // 1000 * 1000)
            if self._last is not None and moment < self._last + timedelta(milliseconds=1):
                moment = self._last + timedelta(milliseconds=1)
            self._last = moment
            return moment


@dataclass
class Customer:
    id: int
    first_name: str
    last_name: str
    email: str | None
    state: str
    locale: str
    tags: list[str]
    created_at: datetime
    updated_at: datetime
    phone: str | None = None
    note: str | None = None
    verified_email: bool = True

    @property
    def display_name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p) or (self.email or "")

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "admin_graphql_api_id": gid("Customer", self.id),
            "first_name": self.first_name,
            "last_name": self.last_name,
            "email": self.email,
            "state": self.state,
            "locale": self.locale,
            "tags": list(self.tags),
            "phone": self.phone,
            "note": self.note,
            "verified_email": self.verified_email,
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
        }


@dataclass
class DiscountApplication:
    """A discount code as an order records it (REST `discount_codes[]`)."""

    code: str
    amount: Decimal
    type: str

    def to_dict(self) -> dict:
        return {"code": self.code, "amount": f"{self.amount:.2f}", "type": self.type}


@dataclass
class Refund:
    id: int
    order_id: int
    amount: Decimal
    currency: str
    created_at: datetime
    transaction_id: int
    note: str | None = None

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "admin_graphql_api_id": gid("Refund", self.id),
            "order_id": self.order_id,
            "amount": f"{self.amount:.2f}",
            "currency": self.currency,
            "note": self.note,
            "created_at": iso(self.created_at),
        }


@dataclass
class Order:
    id: int
    number: int
    customer_id: int | None
    email: str | None
    total: Decimal
    subtotal: Decimal
    currency: str
    discount_codes: list[DiscountApplication]
    financial_status: str
    created_at: datetime
    updated_at: datetime
    processed_at: datetime
    line_item_id: int
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None
    refunds: list[Refund] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"#{self.number}"

    @property
    def refunded(self) -> Decimal:
        return sum((r.amount for r in self.refunds), Decimal("0.00"))

    @property
    def total_discounts(self) -> Decimal:
        return sum((d.amount for d in self.discount_codes), Decimal("0.00"))

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "admin_graphql_api_id": gid("Order", self.id),
            "name": self.name,
            "number": self.number,
            "customer_id": self.customer_id,
            "email": self.email,
            "total": f"{self.total:.2f}",
            "subtotal": f"{self.subtotal:.2f}",
            "currency": self.currency,
            "discount_codes": [d.to_dict() for d in self.discount_codes],
            "financial_status": self.financial_status,
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
            "processed_at": iso(self.processed_at),
            "cancelled_at": iso(self.cancelled_at),
            "cancel_reason": self.cancel_reason,
            "refunds": [r.to_dict() for r in self.refunds],
        }


@dataclass
class Discount:
    """A basic code discount (DiscountCodeNode + its single DiscountRedeemCode)."""

    id: int
    code_id: int
    code: str
    title: str
    starts_at: datetime
    ends_at: datetime | None
    customer_ids: list[int]
    value: dict
    usage_limit: int | None
    applies_once_per_customer: bool
    combines_with: dict[str, bool]
    created_at: datetime
    updated_at: datetime
    usage_count: int = 0
    deactivated: bool = False
    #: the order subtotal the code needs (`minimumRequirement.subtotal`), in shop currency.
    min_subtotal: str | None = None

    def status(self, now: datetime) -> str:
        if self.deactivated or (self.ends_at is not None and self.ends_at <= now):
            return "EXPIRED"
        if self.starts_at > now:
            return "SCHEDULED"
        return "ACTIVE"

    def to_dict(self) -> dict:
        return {
            "id": gid("DiscountCodeNode", self.id),
            "code": self.code,
            "title": self.title,
            "customers": [gid("Customer", c) for c in self.customer_ids],
            "customer_ids": list(self.customer_ids),
            "all_customers": not self.customer_ids,
            "usage_limit": self.usage_limit,
            "applies_once_per_customer": self.applies_once_per_customer,
            "value": dict(self.value),
            "min_subtotal": self.min_subtotal,
            "combines_with": dict(self.combines_with),
            "status": self.status(datetime.now(UTC)),
            "usage_count": self.usage_count,
            "starts_at": iso(self.starts_at),
            "ends_at": iso(self.ends_at),
            "created_at": iso(self.created_at),
        }


@dataclass
class Metafield:
    """A metafield on a customer, as `metafieldsSet` stored it (value always a string)."""

    id: int
    owner_id: int
    namespace: str
    key: str
    type: str
    value: str
    created_at: datetime
    updated_at: datetime

    def to_dict(self) -> dict:
        return {
            "id": gid("Metafield", self.id),
            "owner_id": gid("Customer", self.owner_id),
            "namespace": self.namespace,
            "key": self.key,
            "type": self.type,
            "value": self.value,
            "updated_at": iso(self.updated_at),
        }


@dataclass
class BulkOperation:
    id: int
    query: str
    created_at: datetime
    ready_at: datetime
    status: str = "RUNNING"
    error_code: str | None = None
    content: bytes = b""
    object_count: int = 0
    root_object_count: int = 0

    def current_status(self, now: datetime) -> str:
        """RUNNING until ready_at, then the final status: mirrors Shopify's asynchronous run."""
        if self.status == "RUNNING" and now >= self.ready_at:
            return "COMPLETED"
        return self.status


@dataclass
class Shop:
    id: int
    domain: str
    name: str
    email: str
    currency: str
    locale: str
    timezone: str
    created_at: datetime
    customers: dict[int, Customer] = field(default_factory=dict)
    orders: dict[int, Order] = field(default_factory=dict)
    discounts: dict[int, Discount] = field(default_factory=dict)
    bulk_operations: dict[int, BulkOperation] = field(default_factory=dict)
    #: (customer id, resolved namespace, key) → metafield.
    metafields: dict[tuple[int, str, str], Metafield] = field(default_factory=dict)
    next_order_number: int = 1001
    installed: bool = False

    @property
    def handle(self) -> str:
        return self.domain.removesuffix(".myshopify.com")

    def customer(self, customer_id: int) -> Customer:
        try:
            return self.customers[int(customer_id)]
        except (KeyError, ValueError) as exc:
            raise UnknownCustomer(customer_id) from exc

    def order(self, order_id: int) -> Order:
        try:
            return self.orders[int(order_id)]
        except (KeyError, ValueError) as exc:
            raise UnknownOrder(order_id) from exc

    def refund(self, refund_id: int) -> Refund:
        for order in self.orders.values():
            for refund in order.refunds:
                if refund.id == int(refund_id):
                    return refund
        raise UnknownRefund(refund_id)

    def orders_of(self, customer_id: int) -> list[Order]:
        return [o for o in self.orders.values() if o.customer_id == customer_id]

    def discount_by_code(self, code: str) -> Discount | None:
        wanted = code.strip().lower()
        return next((d for d in self.discounts.values() if d.code.lower() == wanted), None)

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "domain": self.domain,
            "myshopify_domain": self.domain,
            "handle": self.handle,
            "name": self.name,
            "email": self.email,
            "currency": self.currency,
            "locale": self.locale,
            "timezone": self.timezone,
            "installed": self.installed,
            "created_at": iso(self.created_at),
        }


@dataclass
class AccessToken:
    token: str
    shop: str
    scope: str
    expires_at: datetime | None
    online: bool = False
    revoked: bool = False

    def valid(self, now: datetime) -> bool:
        return not self.revoked and (self.expires_at is None or now < self.expires_at)


@dataclass
class RefreshToken:
    token: str
    shop: str
    scope: str
    expires_at: datetime
    used: bool = False

    def valid(self, now: datetime) -> bool:
        return not self.used and now < self.expires_at


@dataclass
class AuthorizationCode:
    code: str
    shop: str
    scope: str
    online: bool
    expires_at: datetime
    used: bool = False


ID_STARTS = {
    "Shop": 55_000_000_001,
    "Customer": 7_100_000_000_001,
    "Order": 5_200_000_000_001,
    "LineItem": 13_400_000_000_001,
    "Refund": 9_300_000_000_001,
    "Transaction": 6_600_000_000_001,
    "DiscountCodeNode": 1_300_000_000_001,
    "DiscountRedeemCode": 17_800_000_000_001,
    "BulkOperation": 3_000_000_001,
    "Metafield": 27_000_000_000_001,
    "DataRequest": 9_999,
}


class Store:
    """All shops, tokens and codes. Ids stay unique across resets, as Shopify's are global."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.clock = Clock()
        self._ids = {kind: itertools.count(start) for kind, start in ID_STARTS.items()}
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.shops: dict[str, Shop] = {}
            self.access_tokens: dict[str, AccessToken] = {}
            self.refresh_tokens: dict[str, RefreshToken] = {}
            self.codes: dict[str, AuthorizationCode] = {}

    def next_id(self, kind: str) -> int:
        with self.lock:
            return next(self._ids[kind])

    def shop(self, domain: str) -> Shop:
        try:
            return self.shops[domain]
        except KeyError as exc:
            raise UnknownShop(domain) from exc

    def bulk_operation(self, operation_id: int) -> BulkOperation | None:
        for shop in self.shops.values():
            if operation_id in shop.bulk_operations:
                return shop.bulk_operations[operation_id]
        return None
