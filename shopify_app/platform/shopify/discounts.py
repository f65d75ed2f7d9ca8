"""Discount codes in Shopify: the referee's one-time code and the referrer's reward code.

The engine talks to a `Discounts` backend so the same code paths run against Shopify (through
the GraphQL Admin API) and, where Shopify is out of reach on purpose (the offline demo), keep
the locally generated code without creating it anywhere.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Protocol

from shopify_app.platform.errors import ShopifyAPIError
from shopify_app.platform.models import Shop
from shopify_app.platform.models.base import utcnow
from shopify_app.platform.money import from_minor
from shopify_app.platform.shopify.client import AdminClient

#: no 0/O, 1/I/L: codes are read aloud and typed at checkout.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
PERCENTAGE, FIXED_AMOUNT = "percentage", "fixed_amount"

CREATE_MUTATION = """
mutation CreateCode($input: DiscountCodeBasicInput!) {
  discountCodeBasicCreate(basicCodeDiscount: $input) {
    codeDiscountNode { id }
    userErrors { field message code }
  }
}
"""
BY_CODE_QUERY = "query ByCode($code: String!) { codeDiscountNodeByCode(code: $code) { id } }"
SET_ACTIVE_MUTATIONS = {
    False: """
mutation Deactivate($id: ID!) {
  discountCodeDeactivate(id: $id) { codeDiscountNode { id } userErrors { field message code } }
}
""",
    True: """
mutation Activate($id: ID!) {
  discountCodeActivate(id: $id) { codeDiscountNode { id } userErrors { field message code } }
}
""",
}


class DiscountError(ShopifyAPIError):
    """Shopify refused a discount code (its userErrors), or could not be reached."""


def shopify_time(moment: datetime) -> str:
    """A DateTime input as Shopify documents it: ISO-8601 in UTC, e.g. 2026-10-28T15:50:00Z."""
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def random_code(prefix: str, length: int = 8) -> str:
    """An unguessable code such as FRIEND-7K3QXM9P (31^8 ≈ 8.5e11 per prefix)."""
    return prefix + "-" + "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))


@dataclass(frozen=True)
class DiscountValue:
    """A percentage (1-100) or a fixed amount in minor units of the shop currency."""

    kind: str
    value: int

    def customer_gets(self, currency: str) -> dict[str, Any]:
        if self.kind == PERCENTAGE:
            return {"percentage": self.value / 100}
        amount: Decimal = from_minor(self.value, currency)
        return {"discountAmount": {"amount": str(amount), "appliesOnEachItem": False}}


class Discounts(Protocol):
    """Where discount codes are created: Shopify, or nowhere (offline demo)."""

    def create(
        self,
        code: str,
        title: str,
        value: DiscountValue,
        customer_gid: str | None,
        *,
        min_subtotal_minor: int = 0,
    ) -> str | None: ...

    def set_active(self, discount_id: str, active: bool) -> None: ...


class ShopifyDiscounts:
    """Basic code discounts through the Admin API: one use, once per customer, as SPEC asks."""

    def __init__(self, shop: Shop, client: AdminClient | None = None) -> None:
        self.shop = shop
        self.client = client or AdminClient(shop)

    def create(
        self,
        code: str,
        title: str,
        value: DiscountValue,
        customer_gid: str | None,
        *,
        min_subtotal_minor: int = 0,
    ) -> str | None:
        """Create the code; returns its DiscountCodeNode id.

        A retry after a crash finds the code already taken: the existing node is ours (codes
        are random and stored before the call), so its id is returned instead of an error.
        `startsAt` is sent as now: Shopify requires it when creating a code and refuses the
        create without it. `min_subtotal_minor` (shop currency) becomes the code's minimum
        order subtotal.
        """
        context: dict[str, Any] = (
            {"customers": {"add": [customer_gid]}} if customer_gid else {"all": "ALL"}
        )
        discount: dict[str, Any] = {
            "title": title,
            "code": code,
            "startsAt": shopify_time(utcnow()),
            "context": context,
            "customerGets": {
                "value": value.customer_gets(self.shop.currency),
                "items": {"all": True},
            },
            "usageLimit": 1,
            "appliesOncePerCustomer": True,
            "combinesWith": {
                "orderDiscounts": False,
                "productDiscounts": False,
                "shippingDiscounts": True,
            },
        }
        if min_subtotal_minor > 0:
            amount = from_minor(min_subtotal_minor, self.shop.currency)
            discount["minimumRequirement"] = {
                "subtotal": {"greaterThanOrEqualToSubtotal": str(amount)}
            }
        data = self.client.execute(CREATE_MUTATION, {"input": discount})
        payload = data.get("discountCodeBasicCreate") or {}
        errors = payload.get("userErrors") or []
        if any(e.get("code") == "TAKEN" for e in errors):
            existing = self.client.execute(BY_CODE_QUERY, {"code": code})
            node = existing.get("codeDiscountNodeByCode")
            if node:
                return node["id"]
        if errors:
            raise DiscountError("; ".join(str(e.get("message")) for e in errors))
        node = payload.get("codeDiscountNode")
        if not node:
            raise DiscountError("Shopify returned no discount")
        return node["id"]

    def set_active(self, discount_id: str, active: bool) -> None:
        """Deactivate a voided reward (or reactivate a revived one)."""
        data = self.client.execute(SET_ACTIVE_MUTATIONS[active], {"id": discount_id})
        key = "discountCodeActivate" if active else "discountCodeDeactivate"
        errors = (data.get(key) or {}).get("userErrors") or []
        if errors:
            raise DiscountError("; ".join(str(e.get("message")) for e in errors))


class OfflineDiscounts:
    """Keeps codes local: for the demo when no Shopify (double) is reachable."""

    def create(
        self,
        code: str,
        title: str,
        value: DiscountValue,
        customer_gid: str | None,
        *,
        min_subtotal_minor: int = 0,
    ) -> str | None:
        return None

    def set_active(self, discount_id: str, active: bool) -> None:
        return None
