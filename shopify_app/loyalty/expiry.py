"""Points expiry: a balance untouched for N months (no earning, no redeeming) expires.

Expiry is a ledger row (source "expiry") keyed `expiry:<customer id>:<last activity>`, so a
balance expires once per period of inactivity however often the run repeats (the key is
unique), and a run killed halfway resumes where it stopped: its committed batches left zero
balances behind. On PostgreSQL each batch of 10,000 customers is one statement over the narrow
point_balances table (keyset, one UPDATE of the balances, one INSERT…SELECT into the ledger), so
a million customers expire within a minute with flat memory; SQLite takes the ledger's own
row-by-row path.

Balances with no last activity (moved before activity was recorded) get it first from the
customer's latest ledger row (or their creation), so their clock starts from the last time
points moved, as the merchant would expect.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, text, update

from shopify_app.loyalty.ledger import add_points
from shopify_app.loyalty.metafields import request_sync
from shopify_app.platform.db import is_postgresql
from shopify_app.platform.extensions import db
from shopify_app.platform.models import Customer, PointBalance, PointsEntry, ProgramSettings, Shop
from shopify_app.platform.models.base import utcnow

BATCH = 10_000
SQLITE_BATCH = 500
DESCRIPTION = "Points expired"

_EXPIRE_BATCH = text(
    """
WITH batch AS (
    SELECT pb.customer_id, pb.last_activity_at, pb.balance
    FROM point_balances pb
    WHERE pb.shop_id = :shop_id AND pb.last_activity_at <= :cutoff AND pb.balance > 0
      AND pb.customer_id > :after_id
    ORDER BY pb.customer_id
    LIMIT :size
), spent AS (
    -- The balance and activity read by this statement must still hold on recheck: a change
    -- committed meanwhile (the customer just earned or redeemed) leaves that customer alone,
    -- and the ledger row below always records the balance that expired.
    UPDATE point_balances pb SET balance = 0, metafield_dirty = true
    FROM batch b
    WHERE pb.customer_id = b.customer_id AND pb.shop_id = :shop_id
      AND pb.balance = b.balance AND pb.last_activity_at = b.last_activity_at
    RETURNING pb.customer_id, b.balance AS expired_points, b.last_activity_at
), entries AS (
    INSERT INTO points_entries
        (shop_id, customer_id, delta, balance_after, description, source, source_key, created_at)
    SELECT :shop_id, s.customer_id, -s.expired_points, 0, :description, 'expiry',
           'expiry:' || s.customer_id || ':'
               || to_char(s.last_activity_at, 'YYYY-MM-DD"T"HH24:MI:SS.US'),
           :now
    FROM spent s
    RETURNING customer_id
)
SELECT (SELECT count(*) FROM entries) AS expired, (SELECT max(customer_id) FROM batch) AS last_id
"""
)


@dataclass
class ExpiryRun:
    expired: int = 0
    batches: int = 0
    #: False when the run stopped at `max_batches` with rows left to look at.
    finished: bool = True


def add_months(moment: datetime, months: int) -> datetime:
    """The same day and time `months` later (or earlier), the day clamped to the month's end."""
    year, month = divmod(moment.month - 1 + months, 12)
    year += moment.year
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def expiry_cutoff(settings: ProgramSettings, now: datetime) -> datetime:
    """Balances whose last activity is at or before this have expired."""
    return add_months(now, -settings.expiry_months)


def expires_on(settings: ProgramSettings, last_activity_at: datetime) -> datetime:
    return add_months(last_activity_at, settings.expiry_months)


def expiry_key(customer_id: int, last_activity_at: datetime) -> str:
    return f"expiry:{customer_id}:{last_activity_at.strftime('%Y-%m-%dT%H:%M:%S.%f')}"


def backfill_activity(shop: Shop) -> int:
    """Give balances with no last activity one: their latest ledger row, or the customer's
    creation."""
    latest_of_row = (
        select(func.max(PointsEntry.created_at))
        .where(PointsEntry.shop_id == shop.id, PointsEntry.customer_id == PointBalance.customer_id)
        .scalar_subquery()
    )
    created = (
        select(Customer.created_at).where(Customer.id == PointBalance.customer_id).scalar_subquery()
    )
    filled = db.session.execute(
        update(PointBalance)
        .where(
            PointBalance.shop_id == shop.id,
            PointBalance.balance > 0,
            PointBalance.last_activity_at.is_(None),
        )
        .values(last_activity_at=func.coalesce(latest_of_row, created))
        .execution_options(synchronize_session=False)
    ).rowcount
    return filled or 0


def expire_batch(
    shop: Shop, cutoff: datetime, after: int, now: datetime, size: int
) -> tuple[int, int | None]:
    """Expire one keyset batch; returns (balances expired, the customer id to resume after)."""
    if is_postgresql():
        row = db.session.execute(
            _EXPIRE_BATCH,
            {
                "shop_id": shop.id,
                "cutoff": cutoff.replace(tzinfo=None),
                "after_id": after,
                "size": size,
                "description": DESCRIPTION,
                "now": now.replace(tzinfo=None),
            },
        ).one()
        return row.expired, row.last_id
    return _expire_batch_by_rows(shop, cutoff, after, now, size)


def _expire_batch_by_rows(
    shop: Shop, cutoff: datetime, after: int, now: datetime, size: int
) -> tuple[int, int | None]:
    """SQLite: the same batch through the ledger, one customer at a time."""
    batch = db.session.execute(
        select(PointBalance.customer_id, PointBalance.last_activity_at, PointBalance.balance)
        .where(
            PointBalance.shop_id == shop.id,
            PointBalance.last_activity_at <= cutoff,
            PointBalance.balance > 0,
            PointBalance.customer_id > after,
        )
        .order_by(PointBalance.customer_id)
        .limit(size)
    ).all()
    if not batch:
        return 0, None
    customers = {
        c.id: c
        for c in db.session.scalars(
            select(Customer).where(
                Customer.shop_id == shop.id,
                Customer.id.in_([r.customer_id for r in batch]),
            )
        )
    }
    expired = 0
    for row in batch:
        customer = customers.get(row.customer_id)
        if customer is None:
            continue
        entry = add_points(
            shop,
            customer,
            -row.balance,
            description=DESCRIPTION,
            source="expiry",
            source_key=expiry_key(customer.id, row.last_activity_at),
            activity=False,
            when=now,
        )
        expired += entry is not None
    return expired, batch[-1].customer_id


def run_expiry(
    shop: Shop,
    settings: ProgramSettings,
    *,
    now: datetime | None = None,
    batch_size: int | None = None,
    max_batches: int | None = None,
) -> ExpiryRun:
    """Expire every balance past the shop's cutoff, committing each batch (the job's unit).

    `max_batches` stops early (a test's stand-in for a run killed halfway).
    """
    now = now or utcnow()
    size = batch_size or (BATCH if is_postgresql() else SQLITE_BATCH)
    cutoff = expiry_cutoff(settings, now)
    backfill_activity(shop)
    db.session.commit()
    run = ExpiryRun()
    after: int | None = 0
    while after is not None:
        if max_batches is not None and run.batches >= max_batches:
            run.finished = False
            return run
        expired, after = expire_batch(shop, cutoff, after, now, size)
        if expired:
            request_sync(shop.id)  # the balances' metafields, once this batch commits
        db.session.commit()
        run.expired += expired
        run.batches += 1
    return run


def reminder_window(settings: ProgramSettings, now: datetime) -> tuple[datetime, datetime]:
    """(cutoff, remind_until): last activities in between expire within the reminder days."""
    return (
        expiry_cutoff(settings, now),
        add_months(now + timedelta(days=settings.expiry_reminder_days), -settings.expiry_months),
    )
