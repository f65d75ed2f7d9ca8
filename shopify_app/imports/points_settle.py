"""A points import's balances move once, when it ends, not once a batch.

Moving 200,000 balances in each of twenty batches rewrites each balance row (and its four
index entries) five times over; a 1M-row import spent more time there than in the ledger.
So on PostgreSQL an import holds each customer's points back while it runs (`pending`, by
customer id, rebuilt from the ledger if the worker died) and moves every balance in one
statement when it ends: done, failed, cancelled, or before its revert. Customers with a
removal are moved at once, batch by batch, and what was moved for them is in
`ImportBalanceMove`. The rows up to `ImportJob.settled_row_number` are in the balances; the
sweep settles an import whose own end could not (its database was down).

The import also resolves Shopify ids to customers once, up front (`CustomerIds`), in the
reader thread: a batch asks the database only for ids it did not know (customers created
since) and for customers removed since.
"""

from __future__ import annotations

import logging
from array import array
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import Column, MetaData, Table, select
from sqlalchemy.schema import CreateTable

from shopify_app.imports.points_ledger import (
    ENTRY_COLUMNS,
    MOVE_BALANCES,
    drop_applied,
    drop_overdrawn,
    open_stage,
    stage_text,
)
from shopify_app.imports.points_rows import SOURCE, PointsRow, Rejection, unknown_reason
from shopify_app.imports.runs import import_lock
from shopify_app.loyalty.metafields import request_sync
from shopify_app.platform.db import TableNames, driver_cursor, postgresql_ddl
from shopify_app.platform.extensions import db
from shopify_app.platform.models import (
    Customer,
    ImportBalanceMove,
    ImportJob,
    PointBalance,
    PointsEntry,
)
from shopify_app.platform.models.base import utcnow
from shopify_app.platform.models.imports import POINTS, QUEUED, RUNNING

log = logging.getLogger(__name__)
_E, _C = TableNames(PointsEntry), TableNames(Customer)
_B, _M = TableNames(PointBalance), TableNames(ImportBalanceMove)
#: clocks of the web and worker processes may differ by this much.
CLOCK_SLACK = timedelta(minutes=5)

#: the points the runner holds back for the batch's customers (or, settling, for all).
_PENDING = Table(
    "points_pending",
    MetaData(),
    Column("customer_id", PointsEntry.__table__.c.customer_id.type),
    Column("pending", PointBalance.__table__.c.balance.type),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DELETE ROWS",
)
_PENDING_DDL = postgresql_ddl(CreateTable(_PENDING, if_not_exists=True))
_LIVE = f"c.{_C.shop_id} = %(shop)s AND c.{_C.deleted_at} IS NULL AND c.{_C.redacted_at} IS NULL"
_STAGE_COLUMNS = "row_number, ref, delta, description, customer_id"

#: ids the reader did not know: customers created since the import started, or none.
_RESOLVE_LATE_SQL = f"""
UPDATE points_stage s SET customer_id = c.{_C.id} FROM {_C} c
WHERE s.customer_id IS NULL AND c.{_C.shopify_id} = s.ref AND {_LIVE}
RETURNING s.row_number, c.{_C.id}
"""
#: customers deleted or erased since `since` (two partial indexes hold only those).
_REMOVED_SQL = f"""
SELECT {_C.id} FROM {_C} WHERE {_C.shop_id} = %(shop)s AND {_C.deleted_at} >= %(since)s
UNION SELECT {_C.id} FROM {_C} WHERE {_C.shop_id} = %(shop)s AND {_C.redacted_at} >= %(since)s
"""
# The ledger only: a row's running balance counts the points held back, so it is the balance
# the customer has once the import settles. Hash joins: per row, 50,000 index probes of the
# balances cost twice the whole insert's other work.
_HELD_BACK_SQL = f"""
INSERT INTO {_E} ({ENTRY_COLUMNS})
SELECT %(shop)s, s.customer_id, s.delta,
       coalesce(b.{_B.balance}, 0) + coalesce(p.pending, 0)
           + sum(s.delta) OVER (PARTITION BY s.customer_id ORDER BY s.row_number),
       s.description, %(source)s, %(import)s, s.row_number, %(now)s
FROM points_stage s
LEFT JOIN {_B} b ON b.{_B.customer_id} = s.customer_id
LEFT JOIN points_pending p ON p.customer_id = s.customer_id
"""
#: customers with a removal: their held-back points and the batch's go into the balance
#: now, and the import remembers what it moved for them.
_MOVE_NOW_SQL = f"""
WITH owed AS (
    SELECT * FROM unnest(%(customers)s::bigint[], %(deltas)s::bigint[]) AS o(customer_id, delta)
), moved AS ({MOVE_BALANCES.format(owed="owed")})
INSERT INTO {_M} AS m ({_M.columns("import_id", "customer_id", "moved")})
SELECT %(import)s, customer_id, delta FROM owed
ON CONFLICT ({_M.import_id}, {_M.customer_id})
    DO UPDATE SET {_M.moved} = m.{_M.moved} + excluded.{_M.moved}
"""
#: each customer's points of the import after `after` not yet in the balance.
_OWED = f"""
    SELECT e.{_E.customer_id} AS customer_id,
           -- a bigint: sum() of bigints is numeric, which Python reads as Decimal
           CAST(sum(e.{_E.delta}) - coalesce(max(m.{_M.moved}), 0) AS bigint) AS delta
    FROM {_E} e
    LEFT JOIN {_M} m ON m.{_M.import_id} = e.{_E.import_id}
                    AND m.{_M.customer_id} = e.{_E.customer_id}
    WHERE e.{_E.import_id} = %(import)s AND e.{_E.source} = %(source)s
      AND e.{_E.row_number} > %(after)s
    GROUP BY e.{_E.customer_id}
    -- a customer moved at once and untouched since has nothing left to move
    HAVING sum(e.{_E.delta}) <> coalesce(max(m.{_M.moved}), 0) OR max(m.{_M.moved}) IS NULL
"""
_SETTLE_SQL = f"""
WITH owed AS ({_OWED}), moved AS ({MOVE_BALANCES.format(owed="owed")})
DELETE FROM {_M} WHERE {_M.import_id} = %(import)s
"""
#: the same from the runner's own tally (it ran every batch since the last settle), which
#: saves aggregating the import's ledger rows again.
_SETTLE_HELD_SQL = f"""
WITH owed AS (SELECT customer_id, pending AS delta FROM points_pending),
moved AS ({MOVE_BALANCES.format(owed="owed")})
DELETE FROM {_M} WHERE {_M.import_id} = %(import)s
"""


class CustomerIds:
    """The shop's live customers by Shopify id, read once: 16 bytes a customer (two sorted
    arrays), so a million-customer shop costs 16 MB, not the 100 MB of a dict."""

    def __init__(self, shop_id: int) -> None:
        self.shop_id = shop_id
        #: removals since this moment are asked for batch by batch.
        self.read_at = utcnow() - CLOCK_SLACK
        self.refs, self.ids = array("q"), array("q")
        cursor = driver_cursor(binary=True)
        cursor.execute(
            f"SELECT c.{_C.shopify_id}, c.{_C.id} FROM {_C} c "
            f"WHERE c.{_C.shopify_id} IS NOT NULL AND {_LIVE} ORDER BY c.{_C.shopify_id}",
            {"shop": shop_id},
        )
        while chunk := cursor.fetchmany(50_000):
            for ref, customer_id in chunk:
                self.refs.append(ref)
                self.ids.append(customer_id)
        #: removed since `read_at`: their rows are rejected like unknown ids.
        self.removed: set[int] = set()

    def resolve(self, rows: Sequence[PointsRow]) -> list[int | None]:
        """Each row's customer id, or None where the id was unknown when the map was read."""
        refs, ids, size = self.refs, self.ids, len(self.refs)
        found: list[int | None] = []
        for row in rows:
            at = bisect_left(refs, row[1])
            found.append(ids[at] if at < size and refs[at] == row[1] else None)
        return found

    def removed_since_read(self, cursor: Any) -> set[int]:
        cursor.execute(_REMOVED_SQL, {"shop": self.shop_id, "since": self.read_at})
        self.removed.update(customer for (customer,) in cursor.fetchall())
        return self.removed


def is_unsettled(job: ImportJob) -> bool:
    return job.kind == POINTS and job.last_row_number > job.settled_row_number


def pending_points(job: ImportJob) -> dict[int, int]:
    """What the import holds back, by customer id: its rows since the last settle, less what
    was moved at once (a resumed run starts from here)."""
    if not is_unsettled(job):
        return {}
    cursor = driver_cursor()
    cursor.execute(_OWED, _params(job))
    return dict(cursor.fetchall())


def apply_held_back(
    shop_id: int,
    import_id: int,
    rows: Sequence[PointsRow],
    customers: CustomerIds,
    pending: dict[int, int],
    *,
    staged: str | None = None,
    customer_ids: Sequence[int | None] | None = None,
) -> tuple[int, list[Rejection]]:
    """Apply a batch of points to add to the ledger, holding its points back in `pending`
    (updated in place); returns (rows applied, rejections). Never commits.

    A customer with a removal is locked, checked against the balance they will have once the
    import settles, and moved now (held-back points included), so nothing can spend points
    the import takes back.

    Args:
        staged, customer_ids: `stage_text(rows, ids)` and `customers.resolve(rows)`, when the
            reader thread built them ahead.
    """
    if not rows:
        return 0, []
    if customer_ids is None:
        customer_ids = customers.resolve(rows)
    if staged is None:
        staged = stage_text(rows, customer_ids)
    cursor = driver_cursor()
    params = open_stage(cursor, staged, shop_id, import_id, SOURCE, _STAGE_COLUMNS)
    replayed = drop_applied(cursor, params)
    removed = customers.removed_since_read(cursor)
    if removed:
        cursor.execute(
            "UPDATE points_stage SET customer_id = NULL WHERE customer_id = ANY(%s)",
            (list(removed),),
        )
    cursor.execute(_RESOLVE_LATE_SQL, params)
    late = dict(cursor.fetchall())
    cursor.execute("DELETE FROM points_stage WHERE customer_id IS NULL RETURNING row_number, ref")
    rejections: list[Rejection] = [
        (row_number, "shopify_id", str(ref), unknown_reason(ref))
        for row_number, ref in cursor.fetchall()
    ]
    in_batch = {customer for customer in customer_ids if customer is not None}
    in_batch.update(late.values())
    _copy_pending(cursor, pending, in_batch)
    removing = _check_removals(cursor, params, pending, rejections)
    cursor.execute("SET LOCAL enable_nestloop = off")
    cursor.execute(_HELD_BACK_SQL, params)
    applied = cursor.rowcount
    cursor.execute("SET LOCAL enable_nestloop = on")
    added = _added(cursor, rows, customer_ids, late, removed, rejections, replayed)
    moves: dict[int, int] = {}
    for customer, delta in added.items():
        if customer in removing:
            moves[customer] = pending.pop(customer, 0) + delta
        else:
            pending[customer] = pending.get(customer, 0) + delta
    if moves:
        ordered = sorted(moves)  # locked in this order, as every balance writer does
        values = {"customers": ordered, "deltas": [moves[c] for c in ordered]}
        cursor.execute(_MOVE_NOW_SQL, {**params, **values})
        request_sync(shop_id)
    return applied, rejections


def _added(
    cursor: Any,
    rows: Sequence[PointsRow],
    customer_ids: Sequence[int | None],
    late: dict[int, int],
    removed: set[int],
    rejections: list[Rejection],
    replayed: bool,
) -> dict[int, int]:
    """The points the batch added, by customer: its rows less the rejected ones, counted
    here; only a batch run twice (some rows were in the ledger already) asks the stage."""
    if replayed:
        cursor.execute("SELECT customer_id, sum(delta) FROM points_stage GROUP BY customer_id")
        return dict(cursor.fetchall())
    rejected = {rejection[0] for rejection in rejections}
    added: dict[int, int] = {}
    for row, customer in zip(rows, customer_ids, strict=True):
        row_number = row[0]
        if row_number in rejected:
            continue
        if customer is None or customer in removed:
            customer = late[row_number]
        added[customer] = added.get(customer, 0) + row[2]
    return added


def _copy_pending(cursor: Any, pending: dict[int, int], customers: Iterable[int]) -> None:
    """The held-back points of the given customers, into the session's `points_pending`."""
    cursor.execute(_PENDING_DDL)
    cursor.execute("TRUNCATE points_pending")
    held = "".join(f"{c}\t{pending[c]}\n" for c in customers if c in pending)
    if held:
        with cursor.copy("COPY points_pending (customer_id, pending) FROM STDIN") as copy:
            copy.write(held)


def _check_removals(
    cursor: Any, params: dict[str, Any], pending: dict[int, int], rejections: list[Rejection]
) -> set[int]:
    """Lock the customers with a removal in the batch and drop the rows that would overdraw
    them; returns their ids."""
    cursor.execute("SELECT DISTINCT customer_id FROM points_stage WHERE delta < 0")
    removing = [customer for (customer,) in cursor.fetchall()]
    if not removing:
        return set()
    cursor.execute(
        f"SELECT b.{_B.customer_id}, b.{_B.balance} FROM {_B} b "
        f"WHERE b.{_B.shop_id} = %(shop)s AND b.{_B.customer_id} = ANY(%(customers)s) "
        f"ORDER BY b.{_B.customer_id} FOR NO KEY UPDATE",
        {**params, "customers": removing},
    )
    balances = dict(cursor.fetchall())
    drop_overdrawn(
        cursor, {c: balances.get(c, 0) + pending.get(c, 0) for c in removing}, rejections
    )
    return set(removing)


def settle(job: ImportJob, pending: dict[int, int] | None = None) -> None:
    """Move the balances by what the import holds back; never commits (its caller's unit of
    work also records how the import ended).

    Args:
        pending: the runner's tally, when it ran every batch since the last settle; without
            it, the import's ledger rows since then say what is owed.
    """
    if not is_unsettled(job):
        return
    cursor = driver_cursor()
    cursor.execute("SET LOCAL jit = off")
    if pending is None:
        cursor.execute(_SETTLE_SQL, _params(job))
    else:
        _copy_pending(cursor, pending, pending)
        cursor.execute(_SETTLE_HELD_SQL, _params(job))
    job.settled_row_number = job.last_row_number
    request_sync(job.shop_id)


def _params(job: ImportJob) -> dict[str, object]:
    return {
        "shop": job.shop_id,
        "import": job.id,
        "source": SOURCE,
        "after": job.settled_row_number,
        "activity": utcnow(),
    }


def settle_stranded() -> int:
    """Settle the points imports that ended without it (or whose worker died and which are no
    longer running); an import a worker holds is left to it. Returns how many it settled."""
    stranded = db.session.execute(
        select(ImportJob.id).where(
            ImportJob.kind == POINTS,
            ImportJob.last_row_number > ImportJob.settled_row_number,
            ImportJob.status.not_in([QUEUED, RUNNING]),
        )
    ).scalars()
    settled = 0
    for import_id in list(stranded):
        db.session.commit()
        with import_lock(import_id) as held:
            if not held:
                continue
            job = db.session.get(ImportJob, import_id, populate_existing=True)
            if job.status in (QUEUED, RUNNING):
                continue
            settle(job)
            db.session.commit()
            log.info("import %s: its held-back points were settled by the sweep", import_id)
            settled += 1
    return settled
