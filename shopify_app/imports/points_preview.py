"""The validation pass of a points file: every row checked against the balances, nothing written.

Split from the ledger writes because it never writes: it runs at upload (the preview) and
again before an all-or-nothing import applies, with running balances held in memory.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from sqlalchemy import func, select

from shopify_app.imports.points_rows import (
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
) -> PointsPreview:
    """Validate every row against the shop's customers and balances now, without writing.

    Memory is bounded by the chunk and by the shop's customers, never by the file's rows: a
    shop of up to PRELOAD_CUSTOMERS has its balances read in one query up front; a bigger one
    is looked up chunk by chunk.

    Args:
        on_chunk: called with each checked chunk (its records, parsed rows and rejected rows),
            so the job can apply what this pass parsed without reading it again.
    """
    preview = PointsPreview()
    if count_customers(shop_id) <= PRELOAD_CUSTOMERS:
        preview.balances.update(known_balances(shop_id, None))
        preview.preloaded = True
    stream = iter(rows)
    while records := list(islice(stream, chunk_size)):
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
    customers = preview.customers
    points_total = applied = 0
    set_balance = parser.mode == SET
    known, touched = balances.get, customers.add  # the hot loop of a million-row preview
    for row_number, shopify_id, number, _ in parsed:
        balance = known(shopify_id)
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
                touched(shopify_id)
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
