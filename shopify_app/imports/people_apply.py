"""Applying a batch of a people file: attributes set on customers, new contacts, the undo log.

Set-based like `contacts_upsert`: one lookup, one INSERT of new contacts, one UPDATE
statement run for the batch's customers, one INSERT into the undo log. Every customer the
import touches gets a log row in the same transaction as the change (`AttributeChange`):
what it held before, which a revert restores, and the proof that an earlier batch (or an
earlier run, before a killed worker) already handled them. Never commits.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update

from shopify_app.imports.attribute_definitions import attribute_kinds, register_attributes
from shopify_app.imports.batches import Parsed, parse_batch
from shopify_app.imports.people_preview import find_customers, identity_of, one_of
from shopify_app.imports.people_rows import (
    CLEAR,
    CREATED,
    REJECTED,
    UPDATED,
    Found,
    PeopleRow,
    PeopleRowParser,
    changes_of,
    decide,
    identify,
    repeat_reason,
    row_values,
)
from shopify_app.imports.row_errors import RowError
from shopify_app.platform.customer_store import add_balance_rows, canonical_email
from shopify_app.platform.db import TableNames, driver_cursor, is_postgresql, upsert_insert
from shopify_app.platform.extensions import db
from shopify_app.platform.models import AttributeChange, Customer, ImportJob
from shopify_app.platform.models.base import utcnow

_customers = Customer.__table__


@dataclass
class PeopleResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejections: list[tuple[int, str, str, str]] = field(default_factory=list)

    @property
    def applied(self) -> int:
        return self.created + self.updated + self.unchanged


@dataclass(frozen=True)
class PeopleOptions:
    """How the merchant chose to apply the file, and the type each column is stored as."""

    mode: str
    empty: str
    kinds: dict[str, str]
    zone: tzinfo


def apply_people(
    shop_id: int,
    import_id: int,
    rows: Sequence[PeopleRow],
    names: list[str],
    options: PeopleOptions,
) -> PeopleResult:
    """Apply a batch in file order against what is stored now; returns its counts."""
    result = PeopleResult()
    if not rows:
        return result
    now = utcnow()
    by_id, by_email = find_customers(
        shop_id,
        {row.shopify_id for row in rows if row.shopify_id is not None},
        {row.email_key for row in rows if row.email_key},
        lock=is_postgresql(),
    )
    logged = _logged(import_id, {f.id for f in (*by_id.values(), *by_email.values())})
    seen: dict[int | str, int] = {}
    new: dict[str, tuple[PeopleRow, dict[str, Any]]] = {}
    updates: dict[int, dict[str, Any]] = {}
    log: list[dict[str, Any]] = []
    for row in rows:
        found = identify(row, by_id, by_email)
        identity = identity_of(row, found)
        if not isinstance(found, str):
            first = seen.get(identity) or (logged.get(found.id) if found else None)
            if first is not None:
                found = repeat_reason(first)
        values = row_values(names, options.kinds, row, options.zone)
        stored = found.attributes if isinstance(found, Found) else {}
        changes = changes_of(names, values, stored, clear=options.empty == CLEAR)
        decision, reason = decide(found, options.mode, changes)
        if decision == REJECTED:
            column, value = (
                ("shopify_id", str(row.shopify_id)) if row.shopify_id else ("email", row.email)
            )
            result.rejections.append((row.row_number, column, value or "", reason))
            continue
        seen[identity] = row.row_number
        setattr(result, decision, getattr(result, decision) + 1)
        if decision == CREATED:
            new[row.email_key or ""] = (row, values)
            continue
        assert isinstance(found, Found)
        if decision == UPDATED:
            attributes = dict(found.attributes)
            for name, (_, after) in changes.items():
                if after is None:
                    attributes.pop(name, None)
                else:
                    attributes[name] = after
            updates[found.id] = {"b_id": found.id, "b_attributes": attributes or None}
        kept = changes if decision == UPDATED else None
        log.append(_log_row(shop_id, import_id, found.id, row.row_number, False, kept))
    created = _create(shop_id, list(new.values()), now)
    for key, (row, values) in new.items():
        if key in created:
            changes = {name: [None, value] for name, value in values.items()}
            log.append(_log_row(shop_id, import_id, created[key], row.row_number, True, changes))
        else:
            # Added meanwhile by someone else (a webhook): left to a later import.
            result.created -= 1
            result.unchanged += 1
    set_attributes(shop_id, list(updates.values()), now)
    write_log(log)
    return result


_C, _L = TableNames(Customer), TableNames(AttributeChange)
#: one UPDATE for a whole chunk, its ids and new attributes passed as one JSON document.
_UPDATE_SQL = (
    f"UPDATE {_C} SET {_C.attributes} = v.a, {_C.updated_at} = %s "
    f"FROM json_to_recordset(%s::json) AS v(id integer, a json) "
    f"WHERE {_C}.{_C.id} = v.id AND {_C}.{_C.shop_id} = %s"
)
_LOGGED = ("shop_id", "import_id", "customer_id", "row_number", "created", "changes")
_COPY_LOG_SQL = f"COPY {_L} ({_L.columns(*_LOGGED)}) FROM STDIN"


def set_attributes(shop_id: int, updates: list[dict[str, Any]], now: datetime) -> None:
    """Write customers' new attributes: on PostgreSQL one UPDATE per 10,000 customers, as a
    statement per customer is a round trip each; elsewhere one executemany."""
    if not updates:
        return
    if not is_postgresql():
        db.session.execute(
            update(_customers)
            .where(_customers.c.shop_id == shop_id, _customers.c.id == bindparam("b_id"))
            .values(attributes=bindparam("b_attributes"), updated_at=now),
            updates,
        )
        return
    cursor = driver_cursor()
    for start in range(0, len(updates), 10_000):
        chunk = updates[start : start + 10_000]
        document = json.dumps([{"id": i["b_id"], "a": i["b_attributes"]} for i in chunk])
        cursor.execute(_UPDATE_SQL, (now, document, shop_id))


def write_log(log: list[dict[str, Any]]) -> None:
    """Add the batch's undo-log rows: COPY on PostgreSQL.

    A customer is logged once per import by construction (a second row naming them is
    rejected, by the log itself across batches), so there is no conflict to skip; one would
    fail the batch rather than lose a log row.
    """
    if not log:
        return
    if not is_postgresql():
        db.session.execute(insert(AttributeChange), log)
        return
    cursor = driver_cursor()
    with cursor.copy(_COPY_LOG_SQL) as copy:
        for item in log:
            changes = item["changes"]
            copy.write_row(
                [
                    *(item[key] for key in _LOGGED[:-1]),
                    None if changes is None else json.dumps(changes),
                ]
            )


def _log_row(shop_id, import_id, customer_id, row_number, created, changes) -> dict[str, Any]:
    return {
        "shop_id": shop_id,
        "import_id": import_id,
        "customer_id": customer_id,
        "row_number": row_number,
        "created": created,
        "changes": changes,
    }


def _logged(import_id: int, customer_ids: set[int]) -> dict[int, int]:
    """customer id → row, for those this import already handled in an earlier batch."""
    found: dict[int, int] = {}
    ordered = sorted(customer_ids)
    for start in range(0, len(ordered), 5_000):
        found.update(
            db.session.execute(
                select(AttributeChange.customer_id, AttributeChange.row_number).where(
                    AttributeChange.import_id == import_id,
                    one_of(AttributeChange.customer_id, ordered[start : start + 5_000]),
                )
            ).all()
        )
    return found


def _create(
    shop_id: int, new: list[tuple[PeopleRow, dict[str, Any]]], now: datetime
) -> dict[str, int]:
    """Insert new contacts (Guests, no Shopify id); returns email_key → id of those created."""
    created: dict[str, int] = {}
    values = [
        {
            "shop_id": shop_id,
            "email": row.email,
            "email_key": row.email_key,
            "email_canonical": canonical_email(row.email),
            "first_name": "",
            "last_name": "",
            "state": "DISABLED",
            "is_member": False,
            "attributes": attributes or None,
            "created_at": now,
            "updated_at": now,
        }
        for row, attributes in new
    ]
    for start in range(0, len(values), 1_000):
        stmt = (
            upsert_insert(Customer)
            .on_conflict_do_nothing(
                index_elements=["shop_id", "email_key"], index_where=Customer.email_key.isnot(None)
            )
            .returning(Customer.email_key, Customer.id)
        )
        created.update(db.session.execute(stmt, values[start : start + 1_000]).all())
    add_balance_rows(shop_id, sorted(created.values()))
    return created


def people_settings(job: ImportJob) -> dict[str, str]:
    """The mode and the empty-cell rule the merchant chose for a people import."""
    return dict((job.summary or {}).get("people") or {})


class PeopleRunner:
    """The job's side of a people import: parse, apply and count batch by batch."""

    def __init__(self, job: ImportJob, source) -> None:
        self.shop_id, self.import_id = job.shop_id, job.id
        self.parser = PeopleRowParser(source)
        settings = people_settings(job)
        kinds, zone = attribute_kinds(job, self.parser.names)
        self.options = PeopleOptions(settings["mode"], settings["empty"], kinds, zone)
        self.counts = {"created": 0, "updated": 0, "unchanged": 0}
        self.counts.update((job.summary or {}).get("result") or {})

    def parse(self, batch: list[tuple[int, list[str]]]) -> Parsed:
        return parse_batch(self.parser, batch, keep=True)

    def ready(self, parsed: Parsed) -> Parsed:
        return parsed

    def apply(self, parsed: Parsed) -> tuple[int, list[RowError]]:
        register_attributes(self.shop_id, self.options.kinds)
        outcome = apply_people(
            self.shop_id, self.import_id, parsed.rows, self.parser.names, self.options
        )
        errors = parsed.errors_with(self.parser.source, outcome.rejections)
        for key in self.counts:
            self.counts[key] += getattr(outcome, key)
        return outcome.applied, errors

    def result(self) -> dict[str, Any]:
        return dict(self.counts)

    def finish(self) -> None:
        """Drop the log rows of customers left as they were: only changes need undoing."""
        db.session.execute(
            delete(AttributeChange).where(
                AttributeChange.import_id == self.import_id,
                AttributeChange.shop_id == self.shop_id,
                AttributeChange.created.is_(False),
                AttributeChange.changes.is_(None),
            )
        )
