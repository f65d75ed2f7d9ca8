"""Customer identity helpers shared by webhooks, imports and the admin."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from shopify_app.platform.db import TableNames, is_postgresql, upsert_insert
from shopify_app.platform.extensions import db
from shopify_app.platform.models import Customer, PointBalance, Shop, is_member_state

GID_PREFIX = "gid://shopify/Customer/"
GMAIL_DOMAINS = {"gmail.com", "googlemail.com"}


def email_key(email: str | None) -> str | None:
    """The identity contacts are matched on: trimmed and lower-cased."""
    if not email:
        return None
    key = email.strip().lower()
    return key or None


def add_balance_rows(shop_id: int, customer_ids: list[int]) -> None:
    """Give customers inserted in bulk (without the ORM, which makes one with each customer)
    their balance row: the points sort walks that table, so every customer needs one.

    On PostgreSQL one INSERT … SELECT FROM unnest(ids): a multi-row insert through the ORM
    took a quarter of a 100,000-contact import."""
    if customer_ids and is_postgresql():
        b = TableNames(PointBalance)
        db.session.execute(
            text(
                f"INSERT INTO {b} ({b.columns('customer_id', 'shop_id', 'balance')}) "
                "SELECT unnest(CAST(:ids AS bigint[])), :shop_id, 0 "
                f"ON CONFLICT ({b.customer_id}) DO NOTHING"
            ),
            {"ids": customer_ids, "shop_id": shop_id},
        )
        return
    for start in range(0, len(customer_ids), 1_000):
        chunk = customer_ids[start : start + 1_000]
        db.session.execute(
            upsert_insert(PointBalance).on_conflict_do_nothing(index_elements=["customer_id"]),
            [{"customer_id": cid, "shop_id": shop_id, "balance": 0} for cid in chunk],
        )


def canonical_email(email: str | None) -> str | None:
    """Collapse `+tag` variants (and Gmail dots), so self-referral by alias is caught."""
    key = email_key(email)
    if key is None or "@" not in key:
        return key
    local, _, domain = key.rpartition("@")
    local = local.split("+", 1)[0]
    if domain in GMAIL_DOMAINS:
        local = local.replace(".", "")
        domain = "gmail.com"
    return f"{local}@{domain}"


def email_fields(email: str | None) -> dict[str, str | None]:
    """The three stored forms of an email, for model constructors and updates."""
    cleaned = email.strip() if email else None
    return {
        "email": cleaned or None,
        "email_key": email_key(cleaned),
        "email_canonical": canonical_email(cleaned),
    }


@dataclass(frozen=True)
class ShopifyCustomer:
    """A customer as Shopify describes it, from a REST webhook payload or a GraphQL node.

    `tags` is None when the source does not carry them: customer webhooks lost `tags` in
    2025-01, and what a payload does not say must not erase what is stored.
    """

    shopify_id: int
    email: str | None
    first_name: str
    last_name: str
    locale: str | None
    state: str
    tags: str | None
    updated_at: datetime | None

    @classmethod
    def from_rest(cls, payload: dict[str, Any]) -> ShopifyCustomer:
        tags = payload.get("tags") if "tags" in payload else None
        if isinstance(tags, list):
            tags = ", ".join(tags)
        return cls(
            shopify_id=int(payload["id"]),
            email=payload.get("email"),
            first_name=payload.get("first_name") or "",
            last_name=payload.get("last_name") or "",
            locale=payload.get("locale"),
            state=(payload.get("state") or "disabled").upper(),
            tags=None if tags is None else str(tags),
            updated_at=parse_shopify_time(payload.get("updated_at")),
        )

    @classmethod
    def from_graphql(cls, node: dict[str, Any]) -> ShopifyCustomer:
        email = node.get("email")
        if email is None and node.get("defaultEmailAddress"):
            email = node["defaultEmailAddress"].get("emailAddress")
        return cls(
            shopify_id=parse_customer_id(node["id"]),
            email=email,
            first_name=node.get("firstName") or "",
            last_name=node.get("lastName") or "",
            locale=node.get("locale"),
            state=(node.get("state") or "DISABLED").upper(),
            tags=", ".join(node.get("tags") or []),
            updated_at=parse_shopify_time(node.get("updatedAt")),
        )


def parse_shopify_time(value: str | None) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_customer_id(value: str | int) -> int:
    """A numeric Shopify customer id from `123` or `gid://shopify/Customer/123`."""
    text = str(value).strip()
    if text.startswith(GID_PREFIX):
        text = text.removeprefix(GID_PREFIX)
    if not text.isdigit() or len(text) > 19:
        raise ValueError(f"{value!r} is not a Shopify customer id")
    return int(text)


def _lock_customer(shop: Shop, shopify_id: int) -> Customer | None:
    return db.session.execute(
        select(Customer)
        .where(Customer.shop_id == shop.id, Customer.shopify_id == shopify_id)
        .with_for_update()
    ).scalar_one_or_none()


def _apply_state(customer: Customer, state: str) -> None:
    customer.state = state
    customer.is_member = is_member_state(state)


def _apply(customer: Customer, data: ShopifyCustomer) -> None:
    customer.first_name = data.first_name
    customer.last_name = data.last_name
    customer.locale = data.locale or customer.locale
    _apply_state(customer, data.state)
    if data.tags is not None:
        customer.tags = data.tags[:2000]
    customer.shopify_updated_at = data.updated_at
    if data.email is not None:
        for key, value in email_fields(data.email).items():
            setattr(customer, key, value)


def upsert_shopify_customer(
    shop: Shop, data: ShopifyCustomer, *, state_is_current: bool = False
) -> Customer | None:
    """Apply Shopify's view of a customer unless it is older than what we store.

    Out-of-order safe: an update older than the stored `updated_at` changes nothing, an update
    before its create creates the customer, and a deleted customer stays deleted. A contact
    imported by email is linked to its Shopify id. Returns None when the data was stale.

    Args:
        state_is_current: the data reports the customer's state as Shopify holds it now (a
            sync's read, `customers/enable` or `/disable`), so its `state` also applies when
            `updated_at` did not move: Shopify enabled many customers without touching it.
    """
    customer = _lock_customer(shop, data.shopify_id)
    if customer is None:
        key = email_key(data.email)
        if key:
            customer = db.session.execute(
                select(Customer)
                .where(
                    Customer.shop_id == shop.id,
                    Customer.email_key == key,
                    Customer.shopify_id.is_(None),
                )
                .with_for_update()
            ).scalar_one_or_none()
            if customer is not None:
                customer.shopify_id = data.shopify_id
    if customer is None:
        customer = Customer(shop_id=shop.id, shopify_id=data.shopify_id)
        _apply(customer, data)
        try:
            with db.session.begin_nested():
                db.session.add(customer)
        except IntegrityError:
            # Another worker created it (or the email belongs to another Shopify id).
            customer = _lock_customer(shop, data.shopify_id)
            if customer is None:
                raise
            return upsert_shopify_customer(shop, data, state_is_current=state_is_current)
        return customer
    applied = _apply_if_newer(customer, data, state_is_current=state_is_current)
    return customer if applied else None


def _apply_if_newer(
    customer: Customer, data: ShopifyCustomer, *, state_is_current: bool = False
) -> bool:
    """Apply unless deleted, redacted, or not newer than what is stored.

    Data as old as what is stored (the same `updated_at`) still corrects the state when it is
    known to be current; anything older changes nothing, so a stale delivery or a sync page
    read before a newer webhook cannot undo it.
    """
    if customer.deleted_at is not None or customer.redacted_at is not None:
        return False
    stored, seen = customer.shopify_updated_at, data.updated_at
    if stored is not None and seen is not None and seen <= stored:
        if state_is_current and seen == stored and customer.state != data.state:
            _apply_state(customer, data.state)
            return True
        return False
    _apply(customer, data)
    return True


def upsert_shopify_customers(
    shop: Shop, batch: list[ShopifyCustomer], *, state_is_current: bool = False
) -> int:
    """Upsert a page of customers with a few set-based queries instead of one per customer.

    Known customers are locked and updated in one query; new ones are inserted together in a
    savepoint. Anything unusual (an imported contact to link by email, a concurrent insert)
    falls back to the careful one-by-one path. `state_is_current` as in
    `upsert_shopify_customer`.
    """
    existing = {
        c.shopify_id: c
        for c in db.session.execute(
            select(Customer)
            .where(
                Customer.shop_id == shop.id,
                Customer.shopify_id.in_([d.shopify_id for d in batch]),
            )
            .with_for_update()
        ).scalars()
    }
    fresh = []
    for data in batch:
        if data.shopify_id in existing:
            _apply_if_newer(existing[data.shopify_id], data, state_is_current=state_is_current)
        else:
            fresh.append(data)
    keys = [k for k in (email_key(d.email) for d in fresh) if k]
    contacts = set()
    if keys:
        contacts = set(
            db.session.execute(
                select(Customer.email_key).where(
                    Customer.shop_id == shop.id, Customer.email_key.in_(keys)
                )
            ).scalars()
        )
    careful = [d for d in fresh if email_key(d.email) in contacts]
    bulk = [d for d in fresh if email_key(d.email) not in contacts]
    if bulk:
        rows = []
        for data in bulk:
            customer = Customer(shop_id=shop.id, shopify_id=data.shopify_id)
            _apply(customer, data)
            rows.append(customer)
        try:
            with db.session.begin_nested():
                db.session.add_all(rows)
        except IntegrityError:
            careful.extend(bulk)
    for data in careful:
        upsert_shopify_customer(shop, data, state_is_current=state_is_current)
    return len(batch)


def delete_shopify_customer(shop: Shop, shopify_id: int, deleted_at: datetime) -> None:
    """Mark deleted (a tombstone if unknown yet), so a late create or update cannot revive it."""
    customer = _lock_customer(shop, shopify_id)
    if customer is None:
        customer = Customer(shop_id=shop.id, shopify_id=shopify_id, state="DISABLED")
        db.session.add(customer)
    customer.deleted_at = customer.deleted_at or deleted_at
    customer.is_member = False
