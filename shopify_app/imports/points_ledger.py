"""Applying a batch of points rows to the ledger, once, against the balances at apply time.

Each applied row is a ledger entry keyed by (import, row, source), so a batch that runs twice
adds nothing the second time. On PostgreSQL a batch is COPYed into a temporary table and
applied with set-based statements; elsewhere (SQLite) a simpler batched path does the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Column, MetaData, Table, func, select
from sqlalchemy.schema import CreateTable

from shopify_app.imports.points_rows import (
    SOURCE,
    PointsRow,
    Rejection,
    negative_reason,
    unknown_reason,
)
from shopify_app.loyalty.ledger import move_balances
from shopify_app.loyalty.metafields import request_sync
from shopify_app.platform.db import (
    TableNames,
    driver_cursor,
    is_postgresql,
    postgresql_ddl,
    upsert_insert,
)
from shopify_app.platform.extensions import db
from shopify_app.platform.models import Customer, PointBalance, PointsEntry
from shopify_app.platform.models.base import utcnow


def apply_points(
    shop_id: int,
    import_id: int,
    rows: Sequence[PointsRow],
    *,
    source: str = SOURCE,
    by_customer_id: bool = False,
    staged: str | None = None,
    set_balance: bool = False,
) -> tuple[int, list[Rejection]]:
    """Apply a batch against the balances at apply time; returns (rows applied, rejections).

    Rows whose ledger entry already exists (a re-run batch) are skipped and not counted. Never
    commits: the job commits the batch together with its progress.

    Args:
        by_customer_id: rows carry the app's customer id (reverts) instead of Shopify's.
        staged: `stage_text(rows)`, when the caller built it ahead (in the reader thread).
        set_balance: rows carry the balance to reach (SET mode); the ledger gets the
            difference, and a row whose customer already has that balance counts as applied
            without an entry.
    """
    if not rows:
        return 0, []
    if is_postgresql():
        text = staged if staged is not None else stage_text(rows)
        return _apply_postgresql(shop_id, import_id, text, source, by_customer_id, set_balance)
    return _apply_batched(shop_id, import_id, rows, source, by_customer_id, set_balance)


# Raw SQL for the COPY path names the tables through the models, so it follows a rename.
_E, _C, _B = TableNames(PointsEntry), TableNames(Customer), TableNames(PointBalance)
_entry, _customer = PointsEntry.__table__.c, Customer.__table__.c
#: the batch as COPY fills it, then resolved to customers; its own names, the models' types.
_STAGE = Table(
    "points_stage",
    MetaData(),
    Column("row_number", _entry.row_number.type),
    Column("ref", _customer.shopify_id.type),  # Shopify's id, or the app's (reverts)
    Column("delta", _entry.delta.type),
    Column("description", _entry.description.type),
    Column("customer_id", _entry.customer_id.type),
    Column("balance", PointBalance.__table__.c.balance.type),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DELETE ROWS",
)
_STAGE_DDL = postgresql_ddl(CreateTable(_STAGE, if_not_exists=True))

#: moves the balances of `{owed}` (customer_id, delta) by their delta: an upsert, not an
#: UPDATE, so a customer without a balance row still gets the points; an import's points count
#: as activity for expiry (`activity`), a revert's do not.
MOVE_BALANCES = f"""
    INSERT INTO {_B} AS b ({_B.columns("customer_id", "shop_id", "balance", "metafield_dirty")},
                          {_B.columns("last_activity_at", "reminded_at")})
    SELECT customer_id, %(shop)s, delta, true, CAST(%(activity)s AS timestamp), NULL
    FROM {{owed}} ORDER BY customer_id
    ON CONFLICT ({_B.customer_id}) DO UPDATE
        SET {_B.balance} = b.{_B.balance} + excluded.{_B.balance}, {_B.metafield_dirty} = true,
            {_B.last_activity_at} = coalesce(excluded.{_B.last_activity_at},
                                             b.{_B.last_activity_at}),
            {_B.reminded_at} = CASE WHEN excluded.{_B.last_activity_at} IS NULL
                                    THEN b.{_B.reminded_at} END
        WHERE b.{_B.shop_id} = %(shop)s
"""

#: the ledger columns every batch insert fills, in this order.
ENTRY_COLUMNS = (
    f"{_E.columns('shop_id', 'customer_id', 'delta', 'balance_after', 'description')}, "
    f"{_E.columns('source', 'import_id', 'row_number', 'created_at')}"
)

# Balances first, then the ledger: the upsert returns each customer's new balance, from which
# the rows' running balances follow (new - batch total + running sum), so no statement looks
# the balances up. Rows already in the ledger (a batch run twice) left the stage before this.
_APPLY_SQL = f"""
WITH totals AS (
    SELECT customer_id, sum(delta) AS delta FROM points_stage
    GROUP BY customer_id ORDER BY customer_id
), moved AS (
    {MOVE_BALANCES.format(owed="totals")}
    RETURNING b.{_B.customer_id} AS customer_id, b.{_B.balance} AS balance
), before AS (
    SELECT m.customer_id, m.balance - t.delta AS balance
    FROM moved m JOIN totals t ON t.customer_id = m.customer_id
), inserted AS (
    INSERT INTO {_E} ({ENTRY_COLUMNS})
    SELECT %(shop)s, s.customer_id, s.delta,
           b.balance + sum(s.delta) OVER (PARTITION BY s.customer_id ORDER BY s.row_number),
           s.description, %(source)s, %(import)s, s.row_number, %(now)s
    FROM points_stage s JOIN before b ON b.customer_id = s.customer_id
    RETURNING 1
)
SELECT (SELECT count(*) FROM inserted)
"""

#: a batch run twice: its rows already in the ledger leave the stage (one range probe when
#: there are none, the usual case).
_ALREADY_APPLIED_SQL = f"""
SELECT EXISTS (
    SELECT 1 FROM {_E} WHERE {_E.import_id} = %(import)s AND {_E.source} = %(source)s
      AND {_E.row_number} BETWEEN (SELECT min(row_number) FROM points_stage)
                              AND (SELECT max(row_number) FROM points_stage)
)
"""
_DROP_APPLIED_SQL = f"""
DELETE FROM points_stage s USING {_E} e
WHERE e.{_E.import_id} = %(import)s AND e.{_E.source} = %(source)s
  AND e.{_E.row_number} = s.row_number
"""


_SET_DELTAS_SQL = """
UPDATE points_stage s SET delta = s.delta - t.before FROM (
    SELECT row_number,
           coalesce(lag(delta) OVER (PARTITION BY customer_id ORDER BY row_number), balance, 0)
               AS before
    FROM points_stage
) t WHERE s.row_number = t.row_number
"""


def _apply_postgresql(
    shop_id: int,
    import_id: int,
    staged: str,
    source: str,
    by_customer_id: bool,
    set_balance: bool,
) -> tuple[int, list[Rejection]]:
    """COPY the batch in, resolve and reject in the stage, then one insert-and-update.

    The stage is resolved to customer ids once; the balances are read by the upsert that moves
    them. Only customers with a negative delta in the batch are locked and walked row by row: a
    batch of additions cannot overdraw anyone, so it needs neither.
    """
    ref = _C.id if by_customer_id else _C.shopify_id
    alive = (
        "" if by_customer_id else f" AND c.{_C.deleted_at} IS NULL AND c.{_C.redacted_at} IS NULL"
    )
    cursor = driver_cursor()
    params = open_stage(cursor, staged, shop_id, import_id, source)
    cursor.execute(
        f"UPDATE points_stage s SET customer_id = c.{_C.id} FROM {_C} c "
        f"WHERE c.{_C.shop_id} = %(shop)s AND c.{ref} = s.ref{alive}",
        params,
    )
    cursor.execute("DELETE FROM points_stage WHERE customer_id IS NULL RETURNING row_number, ref")
    rejections: list[Rejection] = [
        (row_number, "shopify_id", str(unknown), unknown_reason(unknown))
        for row_number, unknown in cursor.fetchall()
    ]
    drop_applied(cursor, params)
    # A balance to set is reached from the balance under the lock; additions need no lock.
    touched = "" if set_balance else " WHERE delta < 0"
    cursor.execute(
        f"SELECT b.{_B.customer_id}, b.{_B.balance} FROM {_B} b "
        f"WHERE b.{_B.shop_id} = %(shop)s "
        f"AND b.{_B.customer_id} IN (SELECT customer_id FROM points_stage{touched}) "
        f"ORDER BY b.{_B.customer_id} FOR NO KEY UPDATE",
        params,
    )
    at_risk = dict(cursor.fetchall())
    unchanged = 0
    if set_balance:
        _refresh_stage_balances(cursor, at_risk)
        cursor.execute(_SET_DELTAS_SQL)
        cursor.execute("DELETE FROM points_stage WHERE delta = 0")
        unchanged = cursor.rowcount
    elif at_risk:
        drop_overdrawn(cursor, at_risk, rejections)
    cursor.execute(_APPLY_SQL, params)
    applied = int(cursor.fetchone()[0])
    if applied:
        request_sync(shop_id)
    return applied + unchanged, rejections


def open_stage(
    cursor: Any,
    staged: str,
    shop_id: int,
    import_id: int,
    source: str,
    columns: str = "row_number, ref, delta, description",
) -> dict[str, Any]:
    """COPY the batch into the session's `points_stage`; returns the statements' parameters."""
    cursor.execute(_STAGE_DDL)
    cursor.execute("TRUNCATE points_stage")
    # The running balance sorts the batch; in memory it is a fraction of the spill to disk.
    # A batch's statements are too short for JIT compiling to pay (50 ms a statement).
    cursor.execute("SET LOCAL work_mem = '64MB'")
    cursor.execute("SET LOCAL jit = off")
    with cursor.copy(f"COPY points_stage ({columns}) FROM STDIN") as copy:
        copy.write(staged)
    now = utcnow()
    params = {"shop": shop_id, "import": import_id, "source": source, "now": now}
    params["activity"] = now if source == SOURCE else None
    return params


def drop_applied(cursor: Any, params: dict[str, Any]) -> bool:
    """The stage's rows already in the ledger (a batch run twice) leave it; returns whether
    there were any."""
    cursor.execute(_ALREADY_APPLIED_SQL, params)
    if not cursor.fetchone()[0]:
        return False
    cursor.execute(_DROP_APPLIED_SQL, params)
    return True


def _refresh_stage_balances(cursor: Any, locked: dict[int, int]) -> None:
    """Balances read under the lock are the ones a balance to set is reached from."""
    if locked:
        cursor.execute(
            "UPDATE points_stage s SET balance = b.balance FROM unnest(%s::bigint[], "
            "%s::bigint[]) AS b(customer_id, balance) WHERE s.customer_id = b.customer_id",
            (list(locked), list(locked.values())),
        )


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def stage_text(rows: Sequence[PointsRow], customer_ids: Sequence[int | None] = ()) -> str:
    """The batch in COPY's text format, built in one pass (write_row per row took 2 s/1M);
    with `customer_ids` (one per row, None for unknown), a fifth column holds them.

    Descriptions repeat (most rows of a file share one), so each is escaped once.
    """
    escaped: dict[str, str] = {}
    lines = []
    ids = iter(customer_ids) if customer_ids else None
    for row_number, ref, delta, description in rows:
        text = escaped.get(description)
        if text is None:
            text = escaped[description] = description.translate(_COPY_ESCAPES)
        if ids is None:
            lines.append(f"{row_number}\t{ref}\t{delta}\t{text}\n")
        else:
            customer = next(ids)
            ident = "\\N" if customer is None else customer
            lines.append(f"{row_number}\t{ref}\t{delta}\t{text}\t{ident}\n")
    return "".join(lines)


def drop_overdrawn(cursor: Any, balances: dict[int, int], rejections: list[Rejection]) -> None:
    """Drop from the stage the rows that would overdraw their customer, walking the rows of
    the customers in `balances` (their balance before the batch) in file order."""
    cursor.execute(
        "SELECT customer_id, row_number, delta FROM points_stage "
        "WHERE customer_id = ANY(%s) ORDER BY customer_id, row_number",
        (list(balances),),
    )
    dropped = _overdrawn_rows(cursor.fetchall(), balances, rejections)
    if dropped:
        cursor.execute("DELETE FROM points_stage WHERE row_number = ANY(%s)", (dropped,))


def _overdrawn_rows(
    rows: list[tuple[int, int, int]], balances: dict[int, int], rejections: list[Rejection]
) -> list[int]:
    """Walk the rows of customers with removals, in file order; returns the rows to drop.

    A row that would overdraw is rejected and the later rows see the balance without it, exactly
    as applying the rows one by one would.
    """
    dropped: list[int] = []
    for ref, row_number, delta in rows:
        balance = balances[ref]
        if balance + delta < 0:
            rejections.append(
                (row_number, "points_to_add", f"{delta:+}", negative_reason(balance, delta))
            )
            dropped.append(row_number)
        else:
            balances[ref] = balance + delta
    return dropped


def _apply_batched(
    shop_id: int,
    import_id: int,
    rows: Sequence[PointsRow],
    source: str,
    by_customer_id: bool,
    set_balance: bool = False,
) -> tuple[int, list[Rejection]]:
    """The portable path: look the customers up, walk the rows, insert what is new."""
    ref_column = Customer.id if by_customer_id else Customer.shopify_id
    refs = list({row[1] for row in rows})
    customers: dict[int, list[int]] = {}
    for start in range(0, len(refs), 5_000):
        query = (
            select(ref_column, Customer.id, func.coalesce(PointBalance.balance, 0))
            .outerjoin(PointBalance, PointBalance.customer_id == Customer.id)
            .where(Customer.shop_id == shop_id, ref_column.in_(refs[start : start + 5_000]))
        )
        if not by_customer_id:
            query = query.where(Customer.deleted_at.is_(None), Customer.redacted_at.is_(None))
        for ref, customer_id, balance in db.session.execute(query):
            customers[ref] = [customer_id, balance]
    rejections: list[Rejection] = []
    entries: list[dict[str, Any]] = []
    now = utcnow()
    unchanged = 0
    for row_number, ref, number, description in sorted(rows):
        found = customers.get(ref)
        if found is None:
            rejections.append((row_number, "shopify_id", str(ref), unknown_reason(ref)))
            continue
        delta = number - found[1] if set_balance else number
        if delta == 0:
            unchanged += 1
            continue
        if found[1] + delta < 0:
            rejections.append(
                (row_number, "points_to_add", f"{delta:+}", negative_reason(found[1], delta))
            )
            continue
        found[1] += delta
        entries.append(
            _entry(shop_id, import_id, found[0], delta, found[1], description, source, row_number)
        )
        entries[-1]["created_at"] = now
    activity = now if source == SOURCE else None
    return _insert_entries(shop_id, entries, activity) + unchanged, rejections


def _entry(
    shop_id: int,
    import_id: int,
    customer_id: int,
    delta: int,
    balance_after: int,
    description: str,
    source: str,
    row_number: int,
) -> dict[str, Any]:
    return {
        "shop_id": shop_id,
        "customer_id": customer_id,
        "delta": delta,
        "balance_after": balance_after,
        "description": description,
        "source": source,
        "import_id": import_id,
        "row_number": row_number,
    }


def _insert_entries(
    shop_id: int, entries: list[dict[str, Any]], activity_at: datetime | None
) -> int:
    """Insert new ledger rows and move balances by what was actually inserted."""
    totals: dict[int, int] = {}
    applied = 0
    for start in range(0, len(entries), 500):
        stmt = (
            upsert_insert(PointsEntry)
            .on_conflict_do_nothing(index_elements=["import_id", "row_number", "source"])
            .returning(PointsEntry.customer_id, PointsEntry.delta)
        )
        for customer_id, delta in db.session.execute(stmt, entries[start : start + 500]):
            totals[customer_id] = totals.get(customer_id, 0) + delta
            applied += 1
    move_balances(shop_id, totals, activity_at)
    return applied
