"""Many earnings at once: a webhook run's points in a few statements, whatever its size.

Only additions come here: a credit cannot take a balance below zero, so the guarded one-row
UPDATE of `ledger.add_points` is not needed, and a run of 500 paid orders costs five
statements instead of 2,500. Each credit names its source key, and the ledger row is inserted
before any balance moves, so a key already recorded (a replay, or a concurrent duplicate that
committed first) changes nothing.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select, update

from shopify_app.loyalty.ledger import move_balances
from shopify_app.platform.db import upsert_insert
from shopify_app.platform.extensions import db
from shopify_app.platform.models import PointBalance, PointsEntry, Shop
from shopify_app.platform.models.base import utcnow

#: rows per executemany: a bounded batch whatever the run's size.
CHUNK = 1000


@dataclass(frozen=True)
class Credit:
    """Points a customer earns from one source, and what their history says about it."""

    customer_id: int
    points: int
    source: str
    source_key: str
    description: str


def add_credits(shop: Shop, credits: list[Credit], *, when: datetime | None = None) -> list[Credit]:
    """Record the credits whose source key is new and raise the balances; never commits.

    Returns the credits recorded now (in the order given); the others were recorded before.
    """
    fresh: dict[str, Credit] = {}
    for credit in credits:
        if credit.points > 0:
            fresh.setdefault(credit.source_key, credit)
    if not fresh:
        return []
    now = when or utcnow()
    inserted: dict[str, int] = {}
    items = list(fresh.values())
    for start in range(0, len(items), CHUNK):
        inserted.update(_insert(shop, items[start : start + CHUNK], now))  # bounded memory
    recorded = [c for c in items if c.source_key in inserted]
    if not recorded:
        return []
    totals: defaultdict[int, int] = defaultdict(int)
    for credit in recorded:
        totals[credit.customer_id] += credit.points
    move_balances(shop.id, dict(totals), now)
    balances = dict(
        db.session.execute(
            select(PointBalance.customer_id, PointBalance.balance).where(
                PointBalance.shop_id == shop.id, PointBalance.customer_id.in_(list(totals))
            )
        ).all()
    )
    # Each row's balance after it, as if the credits were added one by one in the given order.
    running = {cid: balances[cid] - totals[cid] for cid in totals}
    after = []
    for credit in recorded:
        running[credit.customer_id] += credit.points
        after.append({"eid": inserted[credit.source_key], "after": running[credit.customer_id]})
    entries = PointsEntry.__table__
    db.session.execute(
        update(entries)
        .where(entries.c.id == bindparam("eid"))
        .values(balance_after=bindparam("after")),
        after,
    )
    return recorded


def _insert(shop: Shop, credits: list[Credit], now: datetime) -> dict[str, int]:
    """Insert the ledger rows, skipping keys already there; {source_key: entry id} of the new.

    One cached statement run over many rows (SQLAlchemy batches them into multi-row INSERTs
    with RETURNING): a statement built with the rows in it would be compiled again each run.
    """
    entries = PointsEntry.__table__
    statement = (
        upsert_insert(entries)
        .on_conflict_do_nothing(
            index_elements=["shop_id", "source_key"],
            index_where=entries.c.source_key.is_not(None),
        )
        .returning(entries.c.source_key, entries.c.id)
    )
    rows = [
        {
            "shop_id": shop.id,
            "customer_id": c.customer_id,
            "delta": c.points,
            "balance_after": None,
            "description": c.description[:255],
            "source": c.source,
            "source_key": c.source_key,
            "import_id": None,
            "row_number": None,
            "created_at": now,
        }
        for c in credits
    ]
    return {key: entry_id for key, entry_id in db.session.execute(statement, rows).all()}
