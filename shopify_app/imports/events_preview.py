"""The validation pass of an events file: every row checked and counted, nothing written.

It runs at upload (the preview) and again before an all-or-nothing import applies. It
reports what the job will do: rows for unknown customers and repeated event_ids are
rejected, events already in the store (an overlapping nightly file) are counted as such, and
the event names and the time range are summed up for the merchant.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import exists, select

from shopify_app.imports.events_rows import (
    TEXT,
    EventRow,
    EventRowParser,
    content_of,
    event_columns,
    repeated_reason,
    unknown_reason,
)
from shopify_app.imports.points_preview import PRELOAD_CUSTOMERS, count_customers
from shopify_app.imports.reading import CsvSource
from shopify_app.imports.row_errors import RowError
from shopify_app.platform.db import TableNames, driver_cursor, is_postgresql
from shopify_app.platform.extensions import db
from shopify_app.platform.models import Customer, CustomerEvent, ImportJob, Shop
from shopify_app.platform.models.base import utcnow

#: event names the preview lists; the rest are counted ("and 9,980 more").
TOP_NAMES = 20
#: distinct names counted one by one; past this, further new names only add to the total.
MAX_TRACKED_NAMES = 100_000
DEFAULT_TIMEZONE = "UTC"
#: a property column holding numbers in some rows and text in others.
MIXED = "mixed"
#: receives each checked chunk: its records, parsed rows and rejected rows.
OnChunk = Callable[[list[tuple[int, list[str]]], list[EventRow], list[RowError]], None]


def timezone_of(job: ImportJob) -> str:
    """The timezone the merchant picked for naive timestamps (the shop's by default)."""
    return (job.summary or {}).get("timezone") or DEFAULT_TIMEZONE


def events_parser(job: ImportJob, source: CsvSource) -> EventRowParser:
    """The one parser of an events file, for the preview and the job alike."""
    return EventRowParser(source, event_columns(source), timezone_of(job), utcnow())


@dataclass
class EventsPreview:
    """Running figures of a validation pass over an events file."""

    rows: int = 0
    new_events: int = 0
    already_imported: int = 0
    #: rows repeating an earlier row exactly (same event_id and content, or same content).
    repeated_rows: int = 0
    unknown_customers: int = 0
    names: Counter[str] = field(default_factory=Counter)
    names_untracked: int = 0
    first_at: datetime | None = None
    last_at: datetime | None = None
    customers: set[int | str] = field(default_factory=set)
    #: 64-bit prefix of each key seen → (its content's prefix, its row): repeats in the file.
    seen: dict[int, tuple[int, int]] = field(default_factory=dict)
    #: {shopify id or email: known to the store}
    known: dict[int | str, bool] = field(default_factory=dict)
    #: every live customer of the shop is in `known`: a missing one is unknown.
    preloaded: bool = False
    #: the shop has events already (else no key of the file can be stored).
    has_events: bool = True

    def figures(self, parser: EventRowParser) -> dict[str, Any]:
        valid = self.new_events + self.already_imported + self.repeated_rows
        top = heapq.nlargest(TOP_NAMES, self.names.items(), key=lambda item: (item[1], item[0]))
        return {
            "rows": self.rows,
            "valid_rows": valid,
            "error_rows": self.rows - valid,
            "new_events": self.new_events,
            "already_imported": self.already_imported,
            "repeated_rows": self.repeated_rows,
            "unknown_customers": self.unknown_customers,
            "customers": len(self.customers),
            "names": [[name, count] for name, count in top],
            "names_total": len(self.names) + self.names_untracked,
            "first_at": self.first_at.isoformat() if self.first_at else None,
            "last_at": self.last_at.isoformat() if self.last_at else None,
            "properties": {
                name: MIXED if len(kinds) > 1 else next(iter(kinds), TEXT)
                for name, kinds in parser.kinds.items()
            },
            "timezone": parser.zone.key,
        }


def preview_events(
    shop: Shop,
    job: ImportJob,
    source: CsvSource,
    rows: Iterable[tuple[int, list[str]]],
    on_errors: Callable[[list[RowError]], None],
    *,
    chunk_size: int = 50_000,
    on_chunk: OnChunk | None = None,
) -> tuple[dict[str, int], dict[str, Any]]:
    """Validate every row and count what the job will do; returns (mapping, figures).

    Memory is bounded by the chunk, the shop's customers and the file's distinct events (a
    pair of 64-bit numbers each, to find an event_id the file repeats).
    """
    parser = events_parser(job, source)
    preview = EventsPreview()
    preview.preloaded = _preload_customers(shop.id, preview.known)
    preview.has_events = _has_events(shop.id)
    records: list[tuple[int, list[str]]] = []
    for record in rows:
        records.append(record)
        if len(records) >= chunk_size:
            _check_chunk(shop.id, records, parser, preview, on_errors, on_chunk)
            records = []
    if records:
        _check_chunk(shop.id, records, parser, preview, on_errors, on_chunk)
    preview.seen.clear()
    mapping = {
        name: index
        for name, index in (
            ("shopify_id", parser.id_at),
            ("email", parser.email_at),
            ("event_name", parser.name_at),
            ("timestamp", parser.time_at),
            ("event_id", parser.event_id_at),
        )
        if index is not None
    }
    return mapping, preview.figures(parser)


def _check_chunk(
    shop_id: int,
    records: list[tuple[int, list[str]]],
    parser: EventRowParser,
    preview: EventsPreview,
    on_errors: Callable[[list[RowError]], None],
    on_chunk: OnChunk | None,
) -> None:
    parsed: list[EventRow] = []
    errors: list[RowError] = []
    for record in records:
        result = parser(*record)
        if result.__class__ is RowError:
            errors.append(result)  # type: ignore[arg-type]
        else:
            parsed.append(result)  # type: ignore[arg-type]
    if on_chunk is not None:
        on_chunk(records, parsed, list(errors))
    values = dict(records)
    if not preview.preloaded:
        _learn_customers(shop_id, parsed, preview.known)
    known: list[EventRow] = []
    for row in parsed:
        ref = row.shopify_id if row.shopify_id is not None else row.email_key
        if preview.known.get(ref):
            known.append(row)
            preview.customers.add(ref)  # type: ignore[arg-type]
            _count(preview, row)
        else:
            column, value, reason = unknown_reason(row)
            cells = values[row.row_number]
            errors.append(parser._error(row.row_number, cells, column, value, reason))
            preview.unknown_customers += 1
    # As the job sees it: an event the store has is skipped, whatever the file repeats.
    stored = (
        stored_keys(shop_id, list({row.event_key for row in known}))
        if preview.has_events
        else set()
    )
    for row in known:
        if row.event_key in stored:
            preview.already_imported += 1
            continue
        key, content = int(row.event_key[:16], 16), int(content_of(row)[:16], 16)
        first = preview.seen.get(key)
        if first is not None:
            if first[0] == content:
                preview.repeated_rows += 1
            else:
                reason = repeated_reason(row.external_id, first[1])
                cells = values[row.row_number]
                errors.append(
                    parser._error(row.row_number, cells, "event_id", row.external_id, reason)
                )
            continue
        preview.seen[key] = (content, row.row_number)
        preview.new_events += 1
    preview.rows += len(records)
    if errors:
        errors.sort(key=lambda e: e.row_number)
        on_errors(errors)


def _count(preview: EventsPreview, row: EventRow) -> None:
    names = preview.names
    if row.name in names or len(names) < MAX_TRACKED_NAMES:
        names[row.name] += 1
    else:
        preview.names_untracked += 1
    if preview.first_at is None or row.occurred_at < preview.first_at:
        preview.first_at = row.occurred_at
    if preview.last_at is None or row.occurred_at > preview.last_at:
        preview.last_at = row.occurred_at


def _preload_customers(shop_id: int, known: dict[int | str, bool]) -> bool:
    """Every live customer's Shopify id and email, in one query, for shops up to
    PRELOAD_CUSTOMERS (per-chunk lookups took 1.5 s a chunk); False for a bigger shop."""
    if count_customers(shop_id) > PRELOAD_CUSTOMERS:
        return False
    query = select(Customer.shopify_id, Customer.email_key).where(
        Customer.shop_id == shop_id, Customer.deleted_at.is_(None), Customer.redacted_at.is_(None)
    )
    for shopify_id, email in db.session.execute(query.execution_options(yield_per=20_000)):
        if shopify_id is not None:
            known[shopify_id] = True
        if email is not None:
            known[email] = True
    return True


def _has_events(shop_id: int) -> bool:
    return db.session.execute(select(exists().where(CustomerEvent.shop_id == shop_id))).scalar_one()


def _learn_customers(shop_id: int, rows: list[EventRow], known: dict[int | str, bool]) -> None:
    """Look up the chunk's customers not seen before (live customers of this shop only)."""
    ids = {r.shopify_id for r in rows if r.shopify_id is not None} - known.keys()
    emails = {r.email_key for r in rows if r.shopify_id is None and r.email_key} - known.keys()
    for refs, column in ((ids, Customer.shopify_id), (emails, Customer.email_key)):
        ordered = list(refs)
        known.update(dict.fromkeys(ordered, False))
        for start in range(0, len(ordered), 5_000):
            found = db.session.execute(
                select(column).where(
                    Customer.shop_id == shop_id,
                    column.in_(ordered[start : start + 5_000]),
                    Customer.deleted_at.is_(None),
                    Customer.redacted_at.is_(None),
                )
            ).scalars()
            known.update(dict.fromkeys(found, True))


_EVENTS = TableNames(CustomerEvent)


def stored_keys(shop_id: int, keys: list[str]) -> set[str]:
    """Which of these event keys the shop already has (imported by an earlier file)."""
    if not keys:
        return set()
    if is_postgresql():
        cursor = driver_cursor()
        cursor.execute(
            f"SELECT {_EVENTS.event_key} FROM {_EVENTS} WHERE {_EVENTS.shop_id} = %s "
            f"AND {_EVENTS.event_key} = ANY(%s)",
            (shop_id, keys),
        )
        return {key for (key,) in cursor.fetchall()}
    found: set[str] = set()
    for start in range(0, len(keys), 500):
        found.update(
            db.session.execute(
                select(CustomerEvent.event_key).where(
                    CustomerEvent.shop_id == shop_id,
                    CustomerEvent.event_key.in_(keys[start : start + 500]),
                )
            ).scalars()
        )
    return found
