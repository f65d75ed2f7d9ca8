"""Applying a batch of an events file: each event inserted once, keyed by its event key.

The key (the event_id's digest, or the row's content without one) is unique per shop, so a
re-run batch, an overlapping file or a re-upload adds nothing. The first row of a repeated
event_id wins; a later one with different content is rejected. On PostgreSQL a batch is
COPYed into a temporary table, resolved to customers and inserted in a few set-based
statements; SQLite takes a batched path that does the same. Nothing here commits.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Column, MetaData, Table, Text, select
from sqlalchemy.schema import CreateTable

from shopify_app.imports.batches import Parsed, parse_batch
from shopify_app.imports.events_preview import events_parser
from shopify_app.imports.events_rows import (
    FUTURE,
    EventRow,
    repeated_reason,
    stage_text,
    unknown_reason,
)
from shopify_app.imports.reading import CsvSource
from shopify_app.imports.row_errors import RowError
from shopify_app.loyalty.event_credits import earn_for_imported_events
from shopify_app.platform.db import (
    TableNames,
    driver_cursor,
    is_postgresql,
    postgresql_ddl,
    upsert_insert,
)
from shopify_app.platform.extensions import db
from shopify_app.platform.models import Customer, CustomerEvent, ImportJob, Shop
from shopify_app.platform.models.base import utcnow

#: (row, column, value, reason) for rows the database rejects
Rejection = tuple[int, str, str, str]


@dataclass
class Outcome:
    """What one batch did: events added, rows skipped and why, rows rejected."""

    added: int = 0
    already_imported: int = 0
    repeated_rows: int = 0
    rejections: list[Rejection] = field(default_factory=list)
    unknown_customers: int = 0


_E, _C = TableNames(CustomerEvent), TableNames(Customer)
_event = CustomerEvent.__table__.c
#: the batch as COPY fills it, then resolved to customers; its own names, the models' types.
_STAGE = Table(
    "events_stage",
    MetaData(),
    Column("row_number", _event.row_number.type),
    Column("shopify_id", Customer.__table__.c.shopify_id.type),
    Column("email_key", Text),
    Column("name", _event.name.type),
    Column("occurred_at", _event.occurred_at.type),
    Column("event_key", _event.event_key.type),
    Column("external_id", _event.external_id.type),
    Column("properties", Text),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DELETE ROWS",
)
_STAGE_DDL = postgresql_ddl(CreateTable(_STAGE, if_not_exists=True))
_COPY_SQL = (
    "COPY events_stage (row_number, shopify_id, email_key, name, occurred_at, event_key, "
    "external_id, properties) FROM STDIN"
)
_ALIVE = f"c.{_C.deleted_at} IS NULL AND c.{_C.redacted_at} IS NULL"
#: the stage's rows with their customer: by Shopify id, or by email when there is none.
_RESOLVED = f"""
    SELECT s.*, c.{_C.id} AS customer FROM events_stage s JOIN {_C} c
        ON c.{_C.shop_id} = %(shop)s AND c.{_C.shopify_id} = s.shopify_id AND {_ALIVE}
    UNION ALL
    SELECT s.*, c.{_C.id} FROM events_stage s JOIN {_C} c
        ON c.{_C.shop_id} = %(shop)s AND c.{_C.email_key} = s.email_key AND {_ALIVE}
    WHERE s.shopify_id IS NULL
"""
# Inserted in key order (the unique index is walked in order, which measured a quarter
# faster than file order), ties in file order: the first row of a repeated event_id wins.
# The key column compares bytes ("C"), the fast sort, on SQLite as on PostgreSQL.
_INSERT_SQL = f"""
WITH inserted AS (
    INSERT INTO {_E} ({_E.columns("shop_id", "customer_id", "name", "occurred_at", "event_key")},
                      {_E.columns("external_id", "properties", "import_id", "row_number")},
                      {_E.created_at})
    SELECT %(shop)s, customer, name, occurred_at, event_key, external_id, properties::json,
           %(import)s, row_number, %(now)s
    FROM ({_RESOLVED}) r ORDER BY event_key, row_number
    ON CONFLICT ({_E.columns("shop_id", "event_key")}) DO NOTHING
    RETURNING {_E.id} AS id
)
SELECT count(*), min(id), max(id) FROM inserted
"""
#: when some rows were not inserted, every row with its customer and the stored event of its
#: key: this import's own (inserted now, or a repeat in the file), another file's, or none
#: (an unknown customer).
_LEFT_SQL = f"""
SELECT s.row_number, s.shopify_id, s.email_key, s.external_id, r.customer IS NOT NULL,
       coalesce(e.{_E.import_id} = %(import)s, false), e.{_E.row_number},
       coalesce(e.{_E.customer_id} = r.customer AND e.{_E.name} = s.name
                AND e.{_E.occurred_at} = s.occurred_at
                AND e.{_E.properties}::text IS NOT DISTINCT FROM s.properties, false)
FROM events_stage s
LEFT JOIN ({_RESOLVED}) r ON r.row_number = s.row_number
LEFT JOIN {_E} e ON e.{_E.shop_id} = %(shop)s AND e.{_E.event_key} = s.event_key
ORDER BY s.row_number
"""


def apply_events(
    shop: Shop, import_id: int, rows: Sequence[EventRow], *, staged: str | None = None
) -> Outcome:
    """Insert the batch's new events and earn their points; returns what it did.

    Args:
        staged: `stage_text(rows)`, when the caller built it ahead (in the reader thread).
    """
    if not rows:
        return Outcome()
    if is_postgresql():
        text = staged if staged is not None else stage_text(list(rows))
        outcome, first_id, last_id = _apply_postgresql(shop.id, import_id, text, len(rows))
    else:
        outcome, first_id, last_id = _apply_batched(shop.id, import_id, rows)
    if outcome.added:
        earn_for_imported_events(shop, import_id, first_id, last_id)
    return outcome


def _apply_postgresql(
    shop_id: int, import_id: int, staged: str, size: int
) -> tuple[Outcome, int, int]:
    """COPY the batch in, insert what is new for known customers, sort out the rest."""
    cursor = driver_cursor()
    cursor.execute(_STAGE_DDL)
    cursor.execute("TRUNCATE events_stage")
    # The key-order sort of a batch fits in memory; spilled to disk it took a tenth longer.
    cursor.execute("SET LOCAL work_mem = '64MB'")
    with cursor.copy(_COPY_SQL) as copy:
        copy.write(staged)
    params = {"shop": shop_id, "import": import_id, "now": utcnow()}
    cursor.execute(_INSERT_SQL, params)
    added, first_id, last_id = cursor.fetchone()
    outcome = Outcome(added=int(added))
    if outcome.added < size:
        cursor.execute(_LEFT_SQL, params)
        conflicts = []
        for row_number, shopify_id, email, external_id, known, mine, first, same in cursor:
            if known:
                conflicts.append((row_number, external_id, mine, first, same))
            else:
                outcome.rejections.append((row_number, *_unknown(shopify_id, email)))
                outcome.unknown_customers += 1
        _sort_conflicts(outcome, conflicts)
    return outcome, first_id or 0, last_id or 0


def _unknown(shopify_id: int | None, email: str | None) -> tuple[str, str, str]:
    if shopify_id is not None:
        column, value = "shopify_id", str(shopify_id)
        return column, value, f"No customer with Shopify id {shopify_id} in this store"
    return "email", email or "", f"No customer with email {email} in this store"


def _sort_conflicts(outcome: Outcome, conflicts: list[tuple[Any, ...]]) -> None:
    """An event stored by another import was imported before; one of this import's is a
    repeat in the file (a re-run batch finds its own row and changes nothing)."""
    for row_number, external_id, mine, first_row, same in conflicts:
        if not mine:
            outcome.already_imported += 1
        elif first_row == row_number:
            continue
        elif same:
            outcome.repeated_rows += 1
        else:
            reason = repeated_reason(external_id, first_row)
            outcome.rejections.append((row_number, "event_id", external_id or "", reason))


def _apply_batched(
    shop_id: int, import_id: int, rows: Sequence[EventRow]
) -> tuple[Outcome, int, int]:
    """The portable path: look the customers up, insert what is new, sort out the rest."""
    customers = _customer_ids(shop_id, rows)
    outcome = Outcome()
    entries: list[dict[str, Any]] = []
    now = utcnow()
    for row in sorted(rows):
        customer_id = customers.get(row.shopify_id if row.shopify_id is not None else row.email_key)
        if customer_id is None:
            outcome.rejections.append((row.row_number, *unknown_reason(row)))
            continue
        entries.append(
            {
                "shop_id": shop_id,
                "customer_id": customer_id,
                "name": row.name,
                "occurred_at": row.occurred_at,
                "event_key": row.event_key,
                "external_id": row.external_id,
                "properties": json.loads(row.properties) if row.properties else None,
                "import_id": import_id,
                "row_number": row.row_number,
                "created_at": now,
            }
        )
    outcome.unknown_customers = len(outcome.rejections)
    ids: list[int] = []
    inserted: set[int] = set()
    for start in range(0, len(entries), 500):
        statement = (
            upsert_insert(CustomerEvent)
            .on_conflict_do_nothing(index_elements=["shop_id", "event_key"])
            .returning(CustomerEvent.id, CustomerEvent.row_number)
        )
        for event_id, row_number in db.session.execute(statement, entries[start : start + 500]):
            ids.append(event_id)
            inserted.add(row_number)
    outcome.added = len(inserted)
    left = [entry for entry in entries if entry["row_number"] not in inserted]
    if left:
        _sort_conflicts(outcome, _conflicts_batched(shop_id, import_id, left))
    return outcome, min(ids, default=0), max(ids, default=0)


def _customer_ids(shop_id: int, rows: Sequence[EventRow]) -> dict[int | str, int]:
    """{shopify id or email: customer id} of the batch's live customers in this shop."""
    found: dict[int | str, int] = {}
    ids = list({row.shopify_id for row in rows if row.shopify_id is not None})
    emails = list({row.email_key for row in rows if row.shopify_id is None and row.email_key})
    for refs, column in ((ids, Customer.shopify_id), (emails, Customer.email_key)):
        for start in range(0, len(refs), 5_000):
            query = select(column, Customer.id).where(
                Customer.shop_id == shop_id,
                column.in_(refs[start : start + 5_000]),
                Customer.deleted_at.is_(None),
                Customer.redacted_at.is_(None),
            )
            found.update((ref, customer_id) for ref, customer_id in db.session.execute(query))
    return found


def _conflicts_batched(
    shop_id: int, import_id: int, left: list[dict[str, Any]]
) -> list[tuple[Any, ...]]:
    stored = {
        event.event_key: event
        for start in range(0, len(left), 500)
        for event in db.session.execute(
            select(CustomerEvent).where(
                CustomerEvent.shop_id == shop_id,
                CustomerEvent.event_key.in_([e["event_key"] for e in left[start : start + 500]]),
            )
        ).scalars()
    }
    conflicts = []
    for entry in left:
        event = stored[entry["event_key"]]
        at = event.occurred_at.replace(tzinfo=None)  # the model returns it aware
        same = (event.customer_id, event.name, at, event.properties) == (
            entry["customer_id"],
            entry["name"],
            entry["occurred_at"],
            entry["properties"],
        )
        mine = event.import_id == import_id
        conflicts.append((entry["row_number"], entry["external_id"], mine, event.row_number, same))
    return conflicts


class EventsRunner:
    """The job's handle on an events file: parses batches (in the reader thread) and applies."""

    def __init__(self, job: ImportJob, source: CsvSource) -> None:
        self.job_id = job.id
        self.shop = db.session.get(Shop, job.shop_id)
        self.parser = events_parser(job, source)
        self.copy_in = is_postgresql()
        self.counts = {
            "added": 0,
            "already_imported": 0,
            "repeated_rows": 0,
            "unknown_customers": 0,
            "future": 0,
        }
        self.counts.update((job.summary or {}).get("result") or {})

    def parse(self, batch: list[tuple[int, list[str]]]) -> Parsed:
        return self.ready(parse_batch(self.parser, batch, keep=True))

    def ready(self, parsed: Parsed) -> Parsed:
        """On PostgreSQL, the batch in COPY's text format too."""
        if self.copy_in:
            parsed.staged = stage_text(parsed.rows)
        return parsed

    def apply(self, parsed: Parsed) -> tuple[int, list[RowError]]:
        outcome = apply_events(self.shop, self.job_id, parsed.rows, staged=parsed.staged)
        errors = parsed.errors_with(self.parser.source, outcome.rejections)
        self.counts["added"] += outcome.added
        self.counts["already_imported"] += outcome.already_imported
        self.counts["repeated_rows"] += outcome.repeated_rows
        self.counts["unknown_customers"] += outcome.unknown_customers
        self.counts["future"] += sum(1 for e in parsed.errors if e.reason.startswith(FUTURE))
        return outcome.added, errors

    def result(self) -> dict[str, Any]:
        return dict(self.counts)

    def finish(self) -> None:
        """Nothing to tidy once an events import is done."""
