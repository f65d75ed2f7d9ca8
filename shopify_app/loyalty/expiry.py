"""Points expiry: a balance untouched for N months (no earning, no redeeming) expires.

Expiry is a ledger row (source "expiry") keyed `expiry:<customer id>:<last activity>`, so a
balance expires once per period of inactivity however often the run repeats, and a run killed
halfway resumes where it stopped: its committed batches find their keys taken. On PostgreSQL
each batch of 10,000 customers is one statement (keyset over point_balances, then one UPDATE
of the balances, one INSERT…SELECT into the ledger and one UPDATE of the point state), so a
million customers expire within a minute with flat memory; SQLite takes the ledger's own
row-by-row path.

Balances older than the point state (imported before it existed) have no last activity: the
run first backfills it from the customer's latest ledger row (or their creation), so their
clock starts from the last time points moved, as the merchant would expect.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, insert, select, text, true, update

from shopify_app.loyalty.ledger import add_points
from shopify_app.loyalty.metafields import request_sync
from shopify_app.platform.extensions import db
from shopify_app.platform.models import Customer, PointBalance, PointsEntry, ProgramSettings, Shop
from shopify_app.platform.models.base import utcnow

BATCH = 10_000
SQLITE_BATCH = 500
DESCRIPTION = "Points expired"

_EXPIRE_BATCH = text(
    """
WITH batch AS (
    SELECT pb.customer_id, pb.last_activity_at
    FROM point_balances pb
    WHERE pb.shop_id = :shop_id AND pb.last_activity_at <= :cutoff
      AND pb.customer_id % :stride = :phase AND pb.customer_id > :after_id
    ORDER BY pb.customer_id
    LIMIT :size
), spent AS (
    -- The self-join keeps the balance read by this statement: a change committed meanwhile
    -- fails `c.points_balance = o.points_balance` on recheck, so that customer (just active)
    -- is left alone, and the ledger row below always records the balance that expired.
    UPDATE customers c SET points_balance = 0
    FROM batch b JOIN customers o ON o.id = b.customer_id
    WHERE c.id = o.id AND c.shop_id = :shop_id AND o.shop_id = :shop_id
      AND o.points_balance > 0 AND c.points_balance = o.points_balance
      AND NOT EXISTS (
          SELECT 1 FROM points_entries pe
          WHERE pe.shop_id = :shop_id AND pe.source_key IS NOT NULL
            AND pe.source_key = 'expiry:' || o.id || ':'
                || to_char(b.last_activity_at, 'YYYY-MM-DD"T"HH24:MI:SS.US'))
    RETURNING c.id, o.points_balance AS expired_points, b.last_activity_at
), entries AS (
    INSERT INTO points_entries
        (shop_id, customer_id, delta, balance_after, description, source, source_key, created_at)
    SELECT :shop_id, s.id, -s.expired_points, 0, :description, 'expiry',
           'expiry:' || s.id || ':' || to_char(s.last_activity_at, 'YYYY-MM-DD"T"HH24:MI:SS.US'),
           :now
    FROM spent s
    RETURNING customer_id
), marked AS (
    UPDATE point_balances pb SET metafield_dirty = true
    FROM spent s
    WHERE pb.customer_id = s.id AND NOT pb.metafield_dirty
    RETURNING pb.customer_id
)
SELECT (SELECT count(*) FROM entries) AS expired, (SELECT count(*) FROM marked) AS marked,
       (SELECT max(customer_id) FROM batch) AS last_id
"""
)
#: batches can take every STRIDE-th customer, so fewer rows of one page change in one batch
#: (more HOT updates when pages are pruned between batches); measured no faster on the
#: bench, where every customer expires, so 1: plain id order, the best locality.
STRIDE = 1


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
    """Give balances that predate the point state a last activity: their latest ledger row.

    Customers with a balance and no PointBalance row get one (marked dirty: their metafield
    was never written either); rows with no last activity get it filled in.
    """
    latest = (
        select(func.max(PointsEntry.created_at))
        .where(PointsEntry.shop_id == shop.id, PointsEntry.customer_id == Customer.id)
        .scalar_subquery()
    )
    missing = (
        select(PointBalance.customer_id).where(PointBalance.customer_id == Customer.id).exists()
    )
    inserted = db.session.execute(
        insert(PointBalance).from_select(
            ["customer_id", "shop_id", "last_activity_at", "metafield_dirty"],
            select(
                Customer.id,
                Customer.shop_id,
                func.coalesce(latest, Customer.created_at),
                true(),
            ).where(Customer.shop_id == shop.id, Customer.points_balance > 0, ~missing),
        )
    ).rowcount
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
        .where(PointBalance.shop_id == shop.id, PointBalance.last_activity_at.is_(None))
        .values(last_activity_at=func.coalesce(latest_of_row, created))
        .execution_options(synchronize_session=False)
    ).rowcount
    return (inserted or 0) + (filled or 0)


def expire_batch(
    shop: Shop, cutoff: datetime, phase: int, after: int, now: datetime, size: int
) -> tuple[int, int | None]:
    """Expire one keyset batch; returns (balances expired, the customer id to resume after)."""
    if db.engine.dialect.name == "postgresql":
        row = db.session.execute(
            _EXPIRE_BATCH,
            {
                "shop_id": shop.id,
                "cutoff": cutoff.replace(tzinfo=None),
                "stride": STRIDE,
                "phase": phase,
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
        select(PointBalance.customer_id, PointBalance.last_activity_at)
        .where(
            PointBalance.shop_id == shop.id,
            PointBalance.last_activity_at <= cutoff,
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
                Customer.points_balance > 0,
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
            -customer.points_balance,
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
    size = batch_size or (BATCH if db.engine.dialect.name == "postgresql" else SQLITE_BATCH)
    cutoff = expiry_cutoff(settings, now)
    backfill_activity(shop)
    db.session.commit()
    run = ExpiryRun()
    phases = STRIDE if db.engine.dialect.name == "postgresql" else 1
    for phase in range(phases):
        after: int | None = 0
        while after is not None:
            if max_batches is not None and run.batches >= max_batches:
                run.finished = False
                return run
            expired, after = expire_batch(shop, cutoff, phase, after, now, size)
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
