"""Points: every change is a ledger row and a balance update, in the caller's transaction.

An earning names its source (`source_key`, e.g. "order:5012345:earn"): the ledger holds one
row per key, so a repeated, reordered or replayed webhook, or a re-imported event, changes the
balance once. Each change also marks the customer's point state: when points last moved (expiry
counts from it) and that the balance metafield lags behind (the sync sends it).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, update

from shopify_app.loyalty.metafields import request_sync
from shopify_app.platform.db import upsert_insert
from shopify_app.platform.extensions import db
from shopify_app.platform.models import Customer, PointBalance, PointsEntry, Shop
from shopify_app.platform.models.base import utcnow

MAX_BALANCE = 10**12


class NegativeBalance(ValueError):
    """The change would take the customer's balance below zero."""


def add_points(
    shop: Shop,
    customer: Customer,
    delta: int,
    *,
    description: str = "",
    source: str = "manual",
    source_key: str | None = None,
    import_id: int | None = None,
    row_number: int | None = None,
    partial: bool = False,
    activity: bool = True,
    when: datetime | None = None,
) -> PointsEntry | None:
    """Add (or remove) points with a ledger row; never commits.

    The balance is changed with one guarded UPDATE, so concurrent writers cannot take it below
    zero between a read and a write: a removal that would raises NegativeBalance, or with
    `partial` removes what there is (a refund reversing points the shopper already spent).
    With a `source_key` already in the ledger nothing changes and None is returned.
    `activity` is False for changes that do not postpone expiry (the expiry itself).
    """
    if customer.shop_id != shop.id:
        raise ValueError("customer belongs to another shop")
    now = when or utcnow()
    mine = (PointBalance.customer_id == customer.id, PointBalance.shop_id == shop.id)
    with db.session.begin_nested() as savepoint:
        if partial and delta < 0:
            held = db.session.execute(
                select(PointBalance.balance).where(*mine).with_for_update()
            ).scalar_one_or_none()
            delta = max(delta, -(held or 0))
        row = db.session.execute(
            update(PointBalance)
            .where(*mine, PointBalance.balance + delta >= 0)
            .values(balance=PointBalance.balance + delta, **point_state(now if activity else None))
            .returning(PointBalance.balance)
            .execution_options(synchronize_session=False)
        ).scalar_one_or_none()
        if row is None:
            raise NegativeBalance(
                f"balance would go below zero ({balance_of(shop, customer.id)} {delta:+})"
            )
        entry_id = db.session.execute(
            upsert_insert(PointsEntry)
            .values(
                shop_id=shop.id,
                customer_id=customer.id,
                delta=delta,
                balance_after=row,
                description=description[:255],
                source=source,
                source_key=source_key,
                import_id=import_id,
                row_number=row_number,
                created_at=now,
            )
            .on_conflict_do_nothing(
                index_elements=["shop_id", "source_key"],
                index_where=PointsEntry.source_key.is_not(None),
            )
            .returning(PointsEntry.id)
        ).scalar_one_or_none()
        if entry_id is None:
            savepoint.rollback()
            return None
    request_sync(shop.id)
    _forget_loaded([customer.id])
    return db.session.get(PointsEntry, entry_id)


def point_state(activity_at: datetime | None) -> dict[str, Any]:
    """What a balance change also sets: the metafield lags; an earning or redeeming postpones
    expiry (and re-arms its reminder)."""
    values: dict[str, Any] = {"metafield_dirty": True}
    if activity_at is not None:
        values["last_activity_at"] = activity_at
        values["reminded_at"] = None
    return values


def move_balances(shop_id: int, deltas: dict[int, int], activity_at: datetime | None) -> None:
    """Add each customer's delta to their balance, in one statement; never below zero is the
    caller's check (ledger rows are written beside). Queues the metafield sync."""
    if not deltas:
        return
    table = PointBalance.__table__  # Core: an executemany, not the ORM's update by key
    db.session.execute(
        update(table)
        .where(table.c.shop_id == shop_id, table.c.customer_id == bindparam("b_customer"))
        .values(balance=table.c.balance + bindparam("b_delta"), **point_state(activity_at)),
        # Customer id order: two writers lock rows in the same order and cannot deadlock.
        [{"b_customer": cid, "b_delta": deltas[cid]} for cid in sorted(deltas)],
    )
    _forget_loaded(list(deltas))
    request_sync(shop_id)


def _forget_loaded(customer_ids: list[int]) -> None:
    """Balance rows already in the session hold the state before the UPDATE (which bypassed
    them): read them again on their next use."""
    for customer_id in customer_ids:
        loaded = db.session.identity_map.get(db.session.identity_key(PointBalance, customer_id))
        if loaded is not None:
            db.session.expire(loaded)


def balance_of(shop: Shop, customer_id: int) -> int:
    """The customer's balance now (0 for another shop's customer)."""
    return (
        db.session.execute(
            select(PointBalance.balance).where(
                PointBalance.customer_id == customer_id, PointBalance.shop_id == shop.id
            )
        ).scalar_one_or_none()
        or 0
    )
