"""Points imports: `shopify_id, points_to_add, description` rows into the points ledger.

Each applied row is a ledger entry keyed by (import, row, source), so a batch that runs twice
adds nothing the second time. On PostgreSQL a batch is COPYed into a temporary table and
applied with set-based statements; elsewhere (SQLite) a simpler batched path does the same.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from shopify_app.imports.reading import (
    ColumnSpec,
    CsvSource,
    MissingColumns,
    collect_batch_garbage,
    map_columns,
)
from shopify_app.imports.row_errors import RowError
from shopify_app.platform.customer_store import GID_PREFIX
from shopify_app.platform.db import driver_cursor, is_postgresql
from shopify_app.platform.extensions import db
from shopify_app.platform.models import Customer, PointsEntry
from shopify_app.platform.models.base import utcnow

COLUMNS = (
    # In priority order: the app's own export has both "Customer ID" (the app's id) and
    # "Shopify customer ID"; Shopify's export has only "Customer ID" (Shopify's id).
    ColumnSpec("shopify_id", ("shopify_customer_id", "customer_shopify_id", "customer_id")),
    ColumnSpec("points_to_add", ("points_added", "add_points", "points_to_award")),
    # Never "note": in Shopify's customer export it is the merchant's private note, and a
    # description is shown to the customer in their points history.
    ColumnSpec("description", ("reason",), required=False),
)
#: names other apps (and this app's export) use for a balance: the merchant says what they hold.
AMBIGUOUS_POINTS = ColumnSpec("points", ("balance", "points_balance"), required=False)
#: how a points file's number is read: points to add, or the balance to set.
ADD, SET = "add", "set"
MAX_POINTS_PER_ROW = 1_000_000
#: shops up to this size have every balance read at once by the validation pass (~100 MB).
PRELOAD_CUSTOMERS = 1_000_000
MAX_DESCRIPTION = 255
MAX_BIGINT = 2**63 - 1
SOURCE, REVERT_SOURCE = "import", "import_revert"
_SCIENTIFIC = re.compile(r"^\d+([.,]\d+)?[eE]\+?\d+$")
_TRAILING_ZERO = re.compile(r"^\d+[.,]0+$")
EXCEL_CHANGED_ID = (
    "Excel changed this id ({text}); format the column as Text before saving the file, "
    "or export it again from Shopify"
)

#: (spreadsheet row, shopify customer id or app customer id, delta, description)
PointsRow = tuple[int, int, int, str]
#: (row, column, value, reason) for rows the database rejects
Rejection = tuple[int, str, str, str]


def points_columns(source: CsvSource) -> tuple[dict[str, int], bool]:
    """Map a points file's columns; returns (mapping, whether the points column is ambiguous).

    A `points_to_add` column wins over a `points`/`balance` one (the app's own export carries
    the balance as "Points", so export → add a column → import just works). A file with only
    the ambiguous name needs the merchant to say whether it holds points to add or balances.
    """
    mapping = map_columns(source, COLUMNS, optional={"points_to_add"})
    if "points_to_add" in mapping:
        return mapping, False
    balance = map_columns(source, (AMBIGUOUS_POINTS,))
    if "points" not in balance:
        raise MissingColumns(source, ["points_to_add"])
    return {**mapping, "points_to_add": balance["points"]}, True


class PointsRowParser:
    """Turns a CSV record into a PointsRow or a RowError; one instance per file.

    In ADD mode the row's number is a delta; in SET mode it is the balance to reach, and the
    row carries that balance (the delta is worked out against the balance at apply time).
    """

    def __init__(
        self,
        source: CsvSource,
        mapping: dict[str, int],
        default_description: str,
        *,
        mode: str = ADD,
    ):
        self.source = source
        self.width = len(source.header)
        self.id_at = mapping["shopify_id"]
        self.points_at = mapping["points_to_add"]
        self.description_at = mapping.get("description")
        self.default_description = default_description[:MAX_DESCRIPTION]
        self.mode = mode
        #: the column's name as the merchant's file spells it, for messages.
        self.label = "points_to_add" if mode == ADD else source.header[self.points_at]

    def __call__(self, row_number: int, values: list[str]) -> PointsRow | RowError:
        # The common row goes through a handful of C-level string checks; anything unusual
        # (spaces, signs, gids, errors, balances to set) takes the careful path.
        if len(values) == self.width and self.mode == ADD:
            raw_id, raw_points = values[self.id_at], values[self.points_at]
            if (
                raw_id.isdigit()
                and raw_points.isdigit()
                and raw_id.isascii()
                and raw_points.isascii()
                and raw_id[0] != "0"
                and len(raw_id) < 19
                and len(raw_points) < 7
            ):
                delta = int(raw_points)
                if 0 < delta <= MAX_POINTS_PER_ROW:
                    at = self.description_at
                    if at is None:
                        return (row_number, int(raw_id), delta, self.default_description)
                    description = values[at].strip()
                    if len(description) <= MAX_DESCRIPTION:
                        return (
                            row_number,
                            int(raw_id),
                            delta,
                            description or self.default_description,
                        )
        return self._careful(row_number, values)

    def _careful(self, row_number: int, values: list[str]) -> PointsRow | RowError:
        if len(values) > self.width and any(v.strip() for v in values[self.width :]):
            return self._error(
                row_number,
                values,
                None,
                None,
                "The row has more values than the header has columns",
            )
        raw_id = values[self.id_at].strip() if self.id_at < len(values) else ""
        raw_points = values[self.points_at].strip() if self.points_at < len(values) else ""
        customer_id = parse_shopify_id(raw_id)
        if isinstance(customer_id, str):
            return self._error(row_number, values, "shopify_id", raw_id, customer_id)
        number = self._number(raw_points)
        if isinstance(number, str):
            return self._error(row_number, values, self.label, raw_points, number)
        description = ""
        if self.description_at is not None and self.description_at < len(values):
            description = values[self.description_at].strip()
            if len(description) > MAX_DESCRIPTION:
                return self._error(
                    row_number,
                    values,
                    "description",
                    description,
                    f"description is {len(description):,} characters; the limit is "
                    f"{MAX_DESCRIPTION}",
                )
        if not description and self.mode == SET:
            description = f"Points balance set to {number:,}"
        return (row_number, customer_id, number, description or self.default_description)

    def _number(self, raw: str) -> int | str:
        """The row's points as an integer, or a reason that says how to fix the cell."""
        label = self.label
        if not raw:
            return f"{label} is empty"
        digits = raw[1:] if raw[:1] in ("+", "-") else raw
        if not (digits.isascii() and digits.isdigit()):
            return f"{label} is not a whole number"
        if len(digits) > 18 or int(digits) > MAX_POINTS_PER_ROW:
            limit = f"{MAX_POINTS_PER_ROW:,}"
            return f"{label} is too large: beyond the limit of ±{limit} points per row"
        number = -int(digits) if raw[:1] == "-" else int(digits)
        if self.mode == SET:
            if number < 0:
                return f"{label} is a balance and cannot be below zero"
            return number
        if number == 0:
            return f"{label} is 0: nothing to add"
        return number

    def _error(
        self,
        row_number: int,
        values: list[str],
        column: str | None,
        value: str | None,
        reason: str,
    ) -> RowError:
        return RowError(row_number, column, value, reason, self.source.raw_record(values))


def parse_shopify_id(text: str) -> int | str:
    """A Shopify customer id from `123`, `'123` or `gid://shopify/Customer/123`, else why not.

    Shopify's customer export writes ids as `'7338441277598` so spreadsheets keep them as
    text; the apostrophe is not part of the id.
    """
    text = text.removeprefix("'").strip()
    if not text:
        return "shopify_id is empty"
    if _SCIENTIFIC.match(text) or _TRAILING_ZERO.match(text):
        return EXCEL_CHANGED_ID.format(text=text)
    digits = text.removeprefix(GID_PREFIX)
    if not (digits.isascii() and digits.isdigit()):
        return (
            "shopify_id is not a Shopify customer id "
            "(expected a number such as 7012345678901 or gid://shopify/Customer/7012345678901)"
        )
    value = int(digits)
    if value <= 0 or value > MAX_BIGINT:
        return "shopify_id is out of range for a Shopify customer id"
    return value


@dataclass
class PointsPreview:
    """Running figures of a validation pass over a points file."""

    rows: int = 0
    applied_rows: int = 0
    points_total: int = 0
    customers: set[int] = field(default_factory=set)
    #: shopify id → running balance (None: unknown to this shop).
    balances: dict[int, int | None] = field(default_factory=dict)
    #: every customer of the shop is in `balances`: a missing id is unknown.
    preloaded: bool = False
    #: rows setting a balance the customer already has (SET mode): applied, no ledger entry.
    unchanged: int = 0

    def figures(self) -> dict[str, Any]:
        return {
            "unchanged": self.unchanged,
            "rows": self.rows,
            "valid_rows": self.applied_rows,
            "error_rows": self.rows - self.applied_rows,
            "customers": len(self.customers),
            "points_total": self.points_total,
        }


def preview_points(
    shop_id: int,
    rows: Iterable[tuple[int, list[str]]],
    parser: PointsRowParser,
    on_errors: Callable[[list[RowError]], None],
    *,
    chunk_size: int = 50_000,
) -> PointsPreview:
    """Validate every row against the shop's customers and balances now, without writing.

    Memory is bounded by the chunk and by the shop's customers, never by the file's rows: a
    shop of up to PRELOAD_CUSTOMERS has its balances read in one query up front; a bigger one
    is looked up chunk by chunk.
    """
    preview = PointsPreview()
    if count_customers(shop_id) <= PRELOAD_CUSTOMERS:
        preview.balances.update(known_balances(shop_id, None))
        preview.preloaded = True
    records: list[tuple[int, list[str]]] = []
    parsed: list[PointsRow] = []
    errors: list[RowError] = []
    for record in rows:
        records.append(record)
        result = parser(*record)
        if result.__class__ is tuple:
            parsed.append(result)  # type: ignore[arg-type]
        else:
            errors.append(result)  # type: ignore[arg-type]
        if len(records) >= chunk_size:
            _preview_chunk(shop_id, records, parsed, errors, parser, preview, on_errors)
            records, parsed, errors = [], [], []
    if records:
        _preview_chunk(shop_id, records, parsed, errors, parser, preview, on_errors)
    return preview


def count_customers(shop_id: int) -> int:
    return db.session.execute(
        select(func.count()).select_from(Customer).where(Customer.shop_id == shop_id)
    ).scalar_one()


def _preview_chunk(
    shop_id: int,
    chunk: list[tuple[int, list[str]]],
    parsed: list[PointsRow],
    errors: list[RowError],
    parser: PointsRowParser,
    preview: PointsPreview,
    on_errors: Callable[[list[RowError]], None],
) -> None:
    balances = preview.balances
    missing = set() if preview.preloaded else {row[1] for row in parsed} - balances.keys()
    if missing:
        balances.update(dict.fromkeys(missing))
        balances.update(known_balances(shop_id, missing))
    customers = preview.customers
    points_total = applied = 0
    set_balance = parser.mode == SET
    for row_number, shopify_id, number, _ in parsed:
        balance = balances.get(shopify_id)
        if balance is None:
            values = _values_of(chunk, row_number)
            errors.append(
                parser._error(
                    row_number,
                    values,
                    "shopify_id",
                    values[parser.id_at].strip(),
                    unknown_reason(shopify_id),
                )
            )
            continue
        delta = number - balance if set_balance else number
        if delta < 0 and balance + delta < 0:
            values = _values_of(chunk, row_number)
            errors.append(
                parser._error(
                    row_number,
                    values,
                    "points_to_add",
                    values[parser.points_at].strip(),
                    negative_reason(balance, delta),
                )
            )
        else:
            balances[shopify_id] = balance + delta
            if delta:
                customers.add(shopify_id)
            else:
                preview.unchanged += 1
            points_total += delta
            applied += 1
    preview.points_total += points_total
    preview.applied_rows += applied
    preview.rows += len(chunk)
    if errors:
        errors.sort(key=lambda e: e.row_number)
        on_errors(errors)
    collect_batch_garbage()


def _values_of(chunk: list[tuple[int, list[str]]], row_number: int) -> list[str]:
    """The record of a row in its chunk (row numbers ascend, so bisect)."""
    index = bisect.bisect_left(chunk, row_number, key=lambda record: record[0])
    return chunk[index][1]


def known_balances(shop_id: int, shopify_ids: set[int] | None) -> dict[int, int]:
    """Balances of the shop's live customers among `shopify_ids` (all of them for None)."""
    found: dict[int, int] = {}
    if is_postgresql():
        cursor = driver_cursor(binary=True)
        query = (
            "SELECT shopify_id, points_balance FROM customers WHERE shop_id = %s "
            "AND shopify_id IS NOT NULL AND deleted_at IS NULL AND redacted_at IS NULL"
        )
        if shopify_ids is None:
            cursor.execute(query, (shop_id,))
        else:
            cursor.execute(query + " AND shopify_id = ANY(%s)", (shop_id, list(shopify_ids)))
        found.update(cursor.fetchall())
        return found
    query = select(Customer.shopify_id, Customer.points_balance).where(
        Customer.shop_id == shop_id,
        Customer.shopify_id.is_not(None),
        Customer.deleted_at.is_(None),
        Customer.redacted_at.is_(None),
    )
    if shopify_ids is None:
        found.update({shopify_id: balance for shopify_id, balance in db.session.execute(query)})
        return found
    ids = list(shopify_ids)
    for start in range(0, len(ids), 10_000):
        rows = db.session.execute(query.where(Customer.shopify_id.in_(ids[start : start + 10_000])))
        found.update({shopify_id: balance for shopify_id, balance in rows})
    return found


def unknown_reason(shopify_id: int) -> str:
    return f"No customer with Shopify id {shopify_id} in this store"


def negative_reason(balance: int, delta: int) -> str:
    return f"The balance would go below zero ({balance:,} {delta:+,})"


# --- applying a batch -------------------------------------------------------------------------


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


_STAGE_DDL = (
    "CREATE TEMP TABLE IF NOT EXISTS points_stage (row_number int, ref bigint, delta bigint, "
    "description text, customer_id bigint, balance bigint) ON COMMIT DELETE ROWS"
)

_APPLY_SQL = """
WITH inserted AS (
    INSERT INTO points_entries (shop_id, customer_id, delta, balance_after, description, source,
                                import_id, row_number, created_at)
    SELECT %(shop)s, customer_id, delta,
           balance + sum(delta) OVER (PARTITION BY customer_id ORDER BY row_number),
           description, %(source)s, %(import)s, row_number, %(now)s
    FROM points_stage
    ON CONFLICT (import_id, row_number, source) DO NOTHING
    RETURNING customer_id, delta
), totals AS (
    SELECT customer_id, sum(delta) AS delta, count(*) AS entries FROM inserted
    GROUP BY customer_id ORDER BY customer_id
), updated AS (
    UPDATE customers c SET points_balance = c.points_balance + t.delta, updated_at = %(now)s
    FROM totals t WHERE c.id = t.customer_id AND c.shop_id = %(shop)s
    RETURNING t.entries
)
SELECT coalesce(sum(entries), 0) FROM updated
"""


_SET_DELTAS_SQL = """
UPDATE points_stage s SET delta = s.delta - t.before FROM (
    SELECT row_number,
           coalesce(lag(delta) OVER (PARTITION BY customer_id ORDER BY row_number), balance)
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
    set_balance: bool = False,
) -> tuple[int, list[Rejection]]:
    """COPY the batch in, resolve and reject in the stage, then one insert-and-update.

    The stage is resolved to customer ids and balances once, so the insert joins nothing.
    Only customers with a negative delta in the batch are locked and walked row by row: a
    batch of additions cannot overdraw anyone, so it needs neither.
    """
    ref = "id" if by_customer_id else "shopify_id"
    alive = "" if by_customer_id else " AND c.deleted_at IS NULL AND c.redacted_at IS NULL"
    cursor = driver_cursor()
    cursor.execute(_STAGE_DDL)
    cursor.execute("TRUNCATE points_stage")
    # The running balance sorts the batch; in memory it is a fraction of the spill to disk.
    cursor.execute("SET LOCAL work_mem = '64MB'")
    with cursor.copy("COPY points_stage (row_number, ref, delta, description) FROM STDIN") as copy:
        copy.write(staged)
    params = {"shop": shop_id, "import": import_id, "source": source, "now": utcnow()}
    cursor.execute(
        "UPDATE points_stage s SET customer_id = c.id, balance = c.points_balance "
        f"FROM customers c WHERE c.shop_id = %(shop)s AND c.{ref} = s.ref{alive}",
        params,
    )
    cursor.execute("DELETE FROM points_stage WHERE customer_id IS NULL RETURNING row_number, ref")
    rejections: list[Rejection] = [
        (row_number, "shopify_id", str(unknown), unknown_reason(unknown))
        for row_number, unknown in cursor.fetchall()
    ]
    # A balance to set is reached from the balance under the lock; additions need no lock.
    touched = "" if set_balance else " WHERE delta < 0"
    cursor.execute(
        "SELECT c.id, c.points_balance FROM customers c WHERE c.shop_id = %(shop)s "
        f"AND c.id IN (SELECT customer_id FROM points_stage{touched}) "
        "ORDER BY c.id FOR NO KEY UPDATE",
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
        cursor.execute(
            "SELECT customer_id, row_number, delta FROM points_stage "
            "WHERE customer_id = ANY(%s) ORDER BY customer_id, row_number",
            (list(at_risk),),
        )
        locked = dict(at_risk)
        dropped = _overdrawn_rows(cursor.fetchall(), at_risk, rejections)
        _refresh_stage_balances(cursor, locked)
        if dropped:
            cursor.execute("DELETE FROM points_stage WHERE row_number = ANY(%s)", (dropped,))
    cursor.execute(_APPLY_SQL, params)
    return int(cursor.fetchone()[0]) + unchanged, rejections


def _refresh_stage_balances(cursor: Any, locked: dict[int, int]) -> None:
    """Balances read under the lock are the ones the running balance starts from."""
    if locked:
        cursor.execute(
            "UPDATE points_stage s SET balance = b.balance FROM unnest(%s::bigint[], "
            "%s::bigint[]) AS b(customer_id, balance) WHERE s.customer_id = b.customer_id",
            (list(locked), list(locked.values())),
        )


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def stage_text(rows: Sequence[PointsRow]) -> str:
    """The batch in COPY's text format, built in one pass (write_row per row took 2 s/1M).

    Descriptions repeat (most rows of a file share one), so each is escaped once.
    """
    escaped: dict[str, str] = {}
    lines = []
    for row_number, ref, delta, description in rows:
        text = escaped.get(description)
        if text is None:
            text = escaped[description] = description.translate(_COPY_ESCAPES)
        lines.append(f"{row_number}\t{ref}\t{delta}\t{text}\n")
    return "".join(lines)


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
        query = select(ref_column, Customer.id, Customer.points_balance).where(
            Customer.shop_id == shop_id, ref_column.in_(refs[start : start + 5_000])
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
    return _insert_entries(shop_id, entries, now) + unchanged, rejections


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


def _insert_entries(shop_id: int, entries: list[dict[str, Any]], now: datetime) -> int:
    """Insert new ledger rows and move balances by what was actually inserted."""
    totals: dict[int, int] = {}
    applied = 0
    for start in range(0, len(entries), 500):
        stmt = (
            sqlite_insert(PointsEntry)
            .on_conflict_do_nothing(index_elements=["import_id", "row_number", "source"])
            .returning(PointsEntry.customer_id, PointsEntry.delta)
        )
        for customer_id, delta in db.session.execute(stmt, entries[start : start + 500]):
            totals[customer_id] = totals.get(customer_id, 0) + delta
            applied += 1
    if totals:
        table = Customer.__table__
        db.session.connection().execute(
            update(table)
            .where(table.c.id == bindparam("b_id"), table.c.shop_id == shop_id)
            .values(points_balance=table.c.points_balance + bindparam("b_delta"), updated_at=now),
            [{"b_id": customer_id, "b_delta": delta} for customer_id, delta in totals.items()],
        )
    return applied
