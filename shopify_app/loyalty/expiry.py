"""Points expiry: a balance untouched for N months (no earning, no redeeming) expires.

Expiry is a ledger row (source "expiry") keyed `expiry:<customer id>:<last activity>`, so a
balance expires once per period of inactivity however often the run repeats, and a run killed
halfway resumes where it stopped: its committed batches find their keys taken. On PostgreSQL
each batch of 10,000 customers is one statement (keyset over point_balances, then one
INSERT…SELECT into the ledger and one UPDATE each of the balances and their point state), so
a million customers expire in well under a minute with flat memory; SQLite takes the ledger's
own row-by-row path.

Balances older than the point state (imported before it existed) have no last activity: the
run first backfills it from the customer's latest ledger row (or their creation), so their
clock starts from the last time points moved, as the merchant would expect.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, insert, literal, select, text, true, tuple_, update

from shopify_app.loyalty.ledger import add_points
from shopify_app.platform.extensions import db
from shopify_app.platform.models import Customer, PointBalance, PointsEntry, ProgramSettings, Shop
from shopify_app.platform.models.base import UTCDateTime, utcnow

BATCH = 10_000
SQLITE_BATCH = 500
DESCRIPTION = "Points expired"
#: where the first batch starts (before any last activity).
_START = (datetime(1970, 1, 1), 0)

_EXPIRE_BATCH = text(
    """
WITH batch AS (
    SELECT pb.customer_id, pb.last_activity_at
    FROM point_balances pb
    WHERE pb.shop_id = :shop_id AND pb.last_activity_at <= :cutoff
      AND (pb.last_activity_at, pb.customer_id) > (:after_at, :after_id)
    ORDER BY pb.last_activity_at, pb.customer_id
    LIMIT :size
), held AS (
    SELECT c.id, c.points_balance, b.last_activity_at
    FROM customers c JOIN batch b ON b.customer_id = c.id
    WHERE c.shop_id = :shop_id AND c.points_balance > 0
    FOR UPDATE OF c
), entries AS (
    INSERT INTO points_entries
        (shop_id, customer_id, delta, balance_after, description, source, source_key, created_at)
    SELECT :shop_id, h.id, -h.points_balance, 0, :description, 'expiry',
           'expiry:' || h.id || ':' || to_char(h.last_activity_at, 'YYYY-MM-DD"T"HH24:MI:SS.US'),
           :now
    FROM held h
    ON CONFLICT (shop_id, source_key) WHERE source_key IS NOT NULL DO NOTHING
    RETURNING customer_id, delta
), spent AS (
    UPDATE customers c SET points_balance = c.points_balance + e.delta
    FROM entries e
    WHERE c.id = e.customer_id AND c.shop_id = :shop_id
    RETURNING c.id
), marked AS (
    UPDATE point_balances pb SET metafield_dirty = true
    FROM entries e
    WHERE pb.customer_id = e.customer_id AND NOT pb.metafield_dirty
    RETURNING pb.customer_id
), last AS (
    SELECT last_activity_at, customer_id FROM batch
    ORDER BY last_activity_at DESC, customer_id DESC LIMIT 1
)
SELECT (SELECT count(*) FROM spent) AS expired, (SELECT count(*) FROM marked) AS marked,
       (SELECT last_activity_at FROM last) AS last_at, (SELECT customer_id FROM last) AS last_id
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
    shop: Shop, cutoff: datetime, after: tuple[datetime, int], now: datetime, size: int
) -> tuple[int, tuple[datetime, int] | None]:
    """Expire one keyset batch; returns (balances expired, where the next batch starts)."""
    if db.engine.dialect.name == "postgresql":
        row = db.session.execute(
            _EXPIRE_BATCH,
            {
                "shop_id": shop.id,
                "cutoff": cutoff.replace(tzinfo=None),
                "after_at": after[0].replace(tzinfo=None),
                "after_id": after[1],
                "size": size,
                "description": DESCRIPTION,
                "now": now.replace(tzinfo=None),
            },
        ).one()
        return row.expired, (row.last_at, row.last_id) if row.last_id is not None else None
    return _expire_batch_by_rows(shop, cutoff, after, now, size)


def _expire_batch_by_rows(
    shop: Shop, cutoff: datetime, after: tuple[datetime, int], now: datetime, size: int
) -> tuple[int, tuple[datetime, int] | None]:
    """SQLite: the same batch through the ledger, one customer at a time."""
    batch = db.session.execute(
        select(PointBalance.customer_id, PointBalance.last_activity_at)
        .where(
            PointBalance.shop_id == shop.id,
            PointBalance.last_activity_at <= cutoff,
            tuple_(PointBalance.last_activity_at, PointBalance.customer_id)
            > tuple_(literal(after[0], UTCDateTime()), literal(after[1])),
        )
        .order_by(PointBalance.last_activity_at, PointBalance.customer_id)
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
    last = batch[-1]
    return expired, (last.last_activity_at, last.customer_id)


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
    after: tuple[datetime, int] | None = _START
    while after is not None:
        if max_batches is not None and run.batches >= max_batches:
            run.finished = False
            break
        expired, after = expire_batch(shop, cutoff, after, now, size)
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
