"""Points: every change is a ledger row and a balance update, in the caller's transaction.

An earning names its source (`source_key`, e.g. "order:5012345:earn"): the ledger holds one
row per key, so a repeated, reordered or replayed webhook, or a re-imported event, changes the
balance once. Each change also marks the customer's point state: when points last moved (expiry
counts from it) and that the balance metafield lags behind (the sync sends it).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update

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
    balance = Customer.points_balance
    with db.session.begin_nested() as savepoint:
        if partial and delta < 0:
            held = db.session.execute(
                select(balance)
                .where(Customer.id == customer.id, Customer.shop_id == shop.id)
                .with_for_update()
            ).scalar_one_or_none()
            delta = max(delta, -(held or 0))
        row = db.session.execute(
            update(Customer)
            .where(Customer.id == customer.id, Customer.shop_id == shop.id, balance + delta >= 0)
            .values(points_balance=balance + delta)
            .returning(Customer.points_balance)
            .execution_options(synchronize_session=False)
        ).scalar_one_or_none()
        if row is None:
            raise NegativeBalance(
                f"balance would go below zero ({customer.points_balance} {delta:+})"
            )
        now = when or utcnow()
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
        touch_balances(shop.id, [customer.id], now if activity else None)
    customer.points_balance = row
    return db.session.get(PointsEntry, entry_id)


def touch_balances(shop_id: int, customer_ids: list[int], activity_at: datetime | None) -> None:
    """Mark the customers' point state after a change: the metafield lags; maybe activity.

    Also queues the shop's metafield sync for after the commit (one job a shop per commit).
    """
    if not customer_ids:
        return
    values: dict[str, object] = {"metafield_dirty": True}
    if activity_at is not None:
        values["last_activity_at"] = activity_at
        values["reminded_at"] = None
    rows = [{"customer_id": cid, "shop_id": shop_id, **values} for cid in customer_ids]
    statement = upsert_insert(PointBalance)
    db.session.execute(
        statement.on_conflict_do_update(
            index_elements=["customer_id"],
            set_={key: getattr(statement.excluded, key) for key in values},
        ),
        rows,
    )
    request_sync(shop_id)


def balance_of(shop: Shop, customer_id: int) -> int:
    """The customer's balance now (0 for another shop's customer)."""
    return (
        db.session.execute(
            select(Customer.points_balance).where(
                Customer.id == customer_id, Customer.shop_id == shop.id
            )
        ).scalar_one_or_none()
        or 0
    )
