"""The validation pass of a points file: every row checked against the balances, nothing written.

Split from the ledger writes because it never writes: it runs at upload (the preview) and
again before an all-or-nothing import applies, with running balances held in memory.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from itertools import islice
from typing import Any

from sqlalchemy import func, select

from shopify_app.imports.points_rows import (
    ADD,
    MAX_DESCRIPTION,
    MAX_POINTS_PER_ROW,
    SET,
    PointsRow,
    PointsRowParser,
    negative_reason,
    unknown_reason,
)
from shopify_app.imports.row_errors import RowError
from shopify_app.platform.db import TableNames, driver_cursor, is_postgresql
from shopify_app.platform.extensions import db
from shopify_app.platform.models import Customer, PointBalance

#: shops up to this size have every balance read at once by the validation pass (~100 MB).
PRELOAD_CUSTOMERS = 1_000_000
#: receives each checked chunk: its records, parsed rows and rejected rows.
OnChunk = Callable[[list[tuple[int, list[str]]], list[PointsRow], list[RowError]], None]


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
    on_chunk: OnChunk | None = None,
    keep_rows: bool = True,
) -> PointsPreview:
    """Validate every row against the shop's customers and balances now, without writing.

    Memory is bounded by the chunk and by the shop's customers, never by the file's rows: a
    shop of up to PRELOAD_CUSTOMERS has its balances read in one query up front; a bigger one
    is looked up chunk by chunk.

    Args:
        on_chunk: called with each checked chunk (its records, parsed rows and rejected rows),
            so the job can apply what this pass parsed without reading it again.
        keep_rows: whether `on_chunk` needs the parsed rows (the upload's preview does not);
            without, a chunk of points to add may hand it only its rejected ones.
    """
    preview = PointsPreview()
    if count_customers(shop_id) <= PRELOAD_CUSTOMERS:
        preview.balances.update(known_balances(shop_id, None))
        preview.preloaded = True
    stream = iter(rows)
    fused = preview.preloaded and parser.mode == ADD
    while records := list(islice(stream, chunk_size)):
        if fused:
            parsed, errors = _check_added(records, parser, preview, keep_rows)
            _report(errors, on_errors)
            if on_chunk is not None:
                on_chunk(records, parsed, errors)
            continue
        results = [parser(row_number, values) for row_number, values in records]
        parsed: list[PointsRow] = [r for r in results if r.__class__ is tuple]  # type: ignore[misc]
        errors: list[RowError] = (
            [r for r in results if r.__class__ is not tuple]  # type: ignore[misc]
            if len(parsed) < len(results)
            else []
        )
        del results
        _preview_chunk(shop_id, records, parsed, errors, parser, preview, on_errors)
        if on_chunk is not None:
            on_chunk(records, parsed, errors)
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
    values_of = partial(_values_of, chunk)
    points_total = applied = 0
    for row in parsed:
        delta = _check(row, values_of, parser, preview, errors)
        if delta is not None:
            points_total += delta
            applied += 1
    preview.points_total += points_total
    preview.applied_rows += applied
    preview.rows += len(chunk)
    _report(errors, on_errors)


def _report(errors: list[RowError], on_errors: Callable[[list[RowError]], None]) -> None:
    if errors:
        errors.sort(key=lambda e: e.row_number)
        on_errors(errors)


def _check_added(
    records: list[tuple[int, list[str]]],
    parser: PointsRowParser,
    preview: PointsPreview,
    keep_rows: bool,
) -> tuple[list[PointsRow], list[RowError]]:
    """Parse and check a chunk of points to add in one loop, against preloaded balances.

    The common row (plain digits, a known customer) costs a handful of C-level string checks
    and three dict and set operations, with no call per row; this halves a million-row
    preview. Anything else goes through the parser and `_check`, in file order, so
    each row sees the balance the rows before it left.
    """
    width, id_at, points_at = parser.width, parser.id_at, parser.points_at
    at, default = parser.description_at, parser.default_description
    balances = preview.balances
    known = balances.get
    parsed: list[PointsRow] = []
    errors: list[RowError] = []
    refs: list[int] = []  # one C-level set update a chunk, not a call a row
    append = parsed.append if keep_rows else _drop
    touched = refs.append
    total = applied = 0
    for row_number, values in records:
        if len(values) == width:
            raw_id, raw_points = values[id_at], values[points_at]
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
                description = default if at is None else values[at].strip()
                if 0 < delta <= MAX_POINTS_PER_ROW and len(description) <= MAX_DESCRIPTION:
                    ref = int(raw_id)
                    balance = known(ref)
                    if balance is not None:
                        balances[ref] = balance + delta
                        touched(ref)
                        total += delta
                        applied += 1
                        append((row_number, ref, delta, description or default))
                        continue
        # Off the fast path: parsed with care, then checked like any other row.
        result = parser(row_number, values)
        if result.__class__ is not tuple:
            errors.append(result)  # type: ignore[arg-type]
            continue
        row: PointsRow = result  # type: ignore[assignment]
        delta = _check(row, lambda _, record=values: record, parser, preview, errors)
        if delta is not None:
            append(row)
            total += delta
            applied += 1
    preview.customers.update(refs)
    preview.points_total += total
    preview.applied_rows += applied
    preview.rows += len(records)
    return parsed, errors


def _drop(_: PointsRow) -> None:
    """Where the parsed rows are not kept."""


def _check(
    row: PointsRow,
    values_of: Callable[[int], list[str]],
    parser: PointsRowParser,
    preview: PointsPreview,
    errors: list[RowError],
) -> int | None:
    """Check a parsed row against the running balances; returns the points it moves, or None
    with its error appended (`values_of` gives a row's record, for the error)."""
    row_number, shopify_id, number, _ = row
    balance = preview.balances.get(shopify_id)
    if balance is None:
        values = values_of(row_number)
        raw = values[parser.id_at].strip()
        errors.append(
            parser._error(row_number, values, "shopify_id", raw, unknown_reason(shopify_id))
        )
        return None
    delta = number - balance if parser.mode == SET else number
    if delta < 0 and balance + delta < 0:
        values = values_of(row_number)
        raw = values[parser.points_at].strip()
        reason = negative_reason(balance, delta)
        errors.append(parser._error(row_number, values, "points_to_add", raw, reason))
        return None
    preview.balances[shopify_id] = balance + delta
    if delta:
        preview.customers.add(shopify_id)
    else:
        preview.unchanged += 1
    return delta


def _values_of(chunk: list[tuple[int, list[str]]], row_number: int) -> list[str]:
    """The record of a row in its chunk (row numbers ascend, so bisect)."""
    index = bisect.bisect_left(chunk, row_number, key=lambda record: record[0])
    return chunk[index][1]


def known_balances(shop_id: int, shopify_ids: set[int] | None) -> dict[int, int]:
    """Balances of the shop's live customers among `shopify_ids` (all of them for None)."""
    found: dict[int, int] = {}
    if is_postgresql():
        cursor = driver_cursor(binary=True)
        c, b = TableNames(Customer), TableNames(PointBalance)
        query = (
            f"SELECT c.{c.shopify_id}, coalesce(b.{b.balance}, 0) FROM {c} c "
            f"LEFT JOIN {b} b ON b.{b.customer_id} = c.{c.id} WHERE c.{c.shop_id} = %s "
            f"AND c.{c.shopify_id} IS NOT NULL AND c.{c.deleted_at} IS NULL "
            f"AND c.{c.redacted_at} IS NULL"
        )
        if shopify_ids is None:
            cursor.execute(query, (shop_id,))
        else:
            cursor.execute(query + f" AND c.{c.shopify_id} = ANY(%s)", (shop_id, list(shopify_ids)))
        found.update(cursor.fetchall())
        return found
    query = (
        select(Customer.shopify_id, func.coalesce(PointBalance.balance, 0))
        .outerjoin(PointBalance, PointBalance.customer_id == Customer.id)
        .where(
            Customer.shop_id == shop_id,
            Customer.shopify_id.is_not(None),
            Customer.deleted_at.is_(None),
            Customer.redacted_at.is_(None),
        )
    )
    if shopify_ids is None:
        found.update({shopify_id: balance for shopify_id, balance in db.session.execute(query)})
        return found
    ids = list(shopify_ids)
    for start in range(0, len(ids), 10_000):
        rows = db.session.execute(query.where(Customer.shopify_id.in_(ids[start : start + 10_000])))
        found.update({shopify_id: balance for shopify_id, balance in rows})
    return found
