"""The validation pass of a people file: each column typed, every row checked and counted.

Nothing is written. Two reads: the first infers each column's type over the whole file (one
text cell makes a column text, and "unchanged" depends on the type a value is stored as), the
second checks and counts every row with those types. The lookups of stored customers are
shared with `people_apply`, so both identify a row the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ARRAY, ColumnElement, any_, literal, select

from shopify_app.imports.attribute_definitions import attribute_plan
from shopify_app.imports.attribute_types import TypedColumns
from shopify_app.imports.people_rows import (
    CLEAR,
    REJECTED,
    Found,
    PeopleRow,
    PeopleRowParser,
    changes_of,
    decide,
    identify,
    label,
    repeat_reason,
    row_values,
)
from shopify_app.imports.reading import MAX_ROWS, CsvSource
from shopify_app.imports.row_errors import RowError
from shopify_app.platform.db import is_postgresql
from shopify_app.platform.extensions import db
from shopify_app.platform.models import Customer, Shop

#: receives each checked chunk: its records, parsed rows and rejected rows.
OnChunk = Callable[[list[tuple[int, list[str]]], list[PeopleRow], list[RowError]], None]
LOOKUP_CHUNK = 5_000


def one_of(column: Any, values: list[Any]) -> ColumnElement[bool]:
    """`column IN values`; on PostgreSQL `= ANY(array)`, one parameter instead of thousands
    (the driver's parsing of a 5,000-placeholder IN took longer than the query)."""
    if is_postgresql():
        return column == any_(literal(values, ARRAY(column.type)))
    return column.in_(values)


def find_customers(
    shop_id: int, shopify_ids: set[int], keys: set[str], *, lock: bool = False
) -> tuple[dict[int, Found], dict[str, Found]]:
    """The shop's customers with these Shopify ids and these email keys.

    `lock` holds their rows until the batch commits, so attributes changed meanwhile by
    another import are not overwritten with what this one read.
    """
    by_id: dict[int, Found] = {}
    by_email: dict[str, Found] = {}
    columns = (
        Customer.id,
        Customer.shopify_id,
        Customer.email_key,
        Customer.email,
        Customer.first_name,
        Customer.last_name,
        Customer.deleted_at,
        Customer.redacted_at,
        Customer.attributes,
    )
    lookups = ((Customer.shopify_id, list(shopify_ids)), (Customer.email_key, list(keys)))
    for column, wanted in lookups:
        for start in range(0, len(wanted), LOOKUP_CHUNK):
            query = select(*columns).where(
                Customer.shop_id == shop_id, one_of(column, wanted[start : start + LOOKUP_CHUNK])
            )
            # In id order, so two batches locking overlapping customers cannot deadlock.
            locked = query.order_by(Customer.id).with_for_update()
            rows = db.session.execute(locked if lock else query)
            for row in rows:
                found = Found(
                    row.id,
                    row.deleted_at is not None or row.redacted_at is not None,
                    row.attributes or {},
                    label(row.id, row.first_name, row.last_name, row.email),
                )
                if row.shopify_id is not None:
                    by_id[row.shopify_id] = found
                if row.email_key is not None:
                    by_email[row.email_key] = found
    return by_id, by_email


def identity_of(row: PeopleRow, found: Found | str | None) -> int | str:
    """What makes two rows the same customer: the stored id, or the new contact's email."""
    return found.id if isinstance(found, Found) else f"new:{row.email_key}"


@dataclass
class PeoplePreview:
    rows: int = 0
    valid_rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    #: customer (or new email) → the first row that names them.
    seen: dict[int | str, int] = field(default_factory=dict)

    def figures(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "valid_rows": self.valid_rows,
            "error_rows": self.rows - self.valid_rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
        }


def preview_people(
    shop_id: int,
    rows: Iterable[tuple[int, list[str]]],
    parser: PeopleRowParser,
    on_errors: Callable[[list[RowError]], None],
    *,
    kinds: dict[str, str],
    mode: str,
    empty: str,
    zone: tzinfo,
    chunk_size: int = 20_000,
    on_chunk: OnChunk | None = None,
) -> PeoplePreview:
    """Check and count every row against the stored customers, without writing.

    Args:
        kinds: the type each attribute is stored as (`attribute_plan`'s `stored_as`).
        on_chunk: called with each checked chunk, so the job can apply what this pass parsed.
    """
    preview = PeoplePreview()
    chunk: list[tuple[int, list[str]]] = []

    def check() -> None:
        parsed, errors = _check_chunk(
            shop_id, chunk, parser, preview, kinds=kinds, mode=mode, empty=empty, zone=zone
        )
        if errors:
            on_errors(errors)
        if on_chunk is not None:
            on_chunk(chunk, parsed, errors)

    for record in rows:
        chunk.append(record)
        if len(chunk) >= chunk_size:
            check()
            chunk = []
    if chunk:
        check()
    preview.seen.clear()
    return preview


def _check_chunk(
    shop_id: int,
    chunk: list[tuple[int, list[str]]],
    parser: PeopleRowParser,
    preview: PeoplePreview,
    *,
    kinds: dict[str, str],
    mode: str,
    empty: str,
    zone: tzinfo,
) -> tuple[list[PeopleRow], list[RowError]]:
    errors: list[RowError] = []
    parsed: list[tuple[PeopleRow, list[str]]] = []
    for row_number, values in chunk:
        result = parser(row_number, values)
        if isinstance(result, RowError):
            errors.append(result)
        else:
            parsed.append((result, values))
    by_id, by_email = find_customers(
        shop_id,
        {row.shopify_id for row, _ in parsed if row.shopify_id is not None},
        {row.email_key for row, _ in parsed if row.email_key},
    )
    for row, values in parsed:
        found = identify(row, by_id, by_email)
        identity = identity_of(row, found)
        if not isinstance(found, str) and identity in preview.seen:
            found = repeat_reason(preview.seen[identity])
        stored = found.attributes if isinstance(found, Found) else {}
        changes = changes_of(
            parser.names, row_values(parser.names, kinds, row, zone), stored, clear=empty == CLEAR
        )
        decision, reason = decide(found, mode, changes)
        if decision == REJECTED:
            column = "shopify_id" if row.shopify_id is not None else "email"
            value = str(row.shopify_id) if row.shopify_id is not None else row.email
            errors.append(parser.error(row.row_number, values, column, value, reason))
            continue
        preview.seen[identity] = row.row_number
        preview.valid_rows += 1
        setattr(preview, decision, getattr(preview, decision) + 1)
    preview.rows += len(chunk)
    errors.sort(key=lambda e: e.row_number)
    return [row for row, _ in parsed], errors


def people_figures(
    shop: Shop,
    source: CsvSource,
    rows: Iterable[tuple[int, list[str]]],
    on_errors: Callable[[list[RowError]], None],
    settings: dict[str, str],
    **options: Any,
) -> tuple[dict[str, Any], dict[str, int]]:
    """The preview's figures of a people file and the columns it shows ({name: position}).

    Args:
        settings: the merchant's mode and empty-cell rule (`people_apply.people_settings`).
        options: `chunk_size` and `on_chunk`, as `preview_people` takes them.
    """
    parser = PeopleRowParser(source)
    typing = TypedColumns(parser.attributes)
    typing.add(source.rows(limit=MAX_ROWS))
    plan = attribute_plan(shop.id, typing.columns)
    preview = preview_people(
        shop.id,
        rows,
        parser,
        on_errors,
        kinds={item["name"]: item["stored_as"] for item in plan},
        mode=settings["mode"],
        empty=settings["empty"],
        zone=ZoneInfo(shop.timezone or "UTC"),
        **options,
    )
    figures = {**preview.figures(), "attributes": plan, **settings}
    return figures, {**parser.mapping, **{name: i for i, name in parser.attributes}}
