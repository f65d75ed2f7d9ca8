"""The validation pass of a contacts file: every row checked and counted, nothing written.

Split from the writes because it never writes: it runs at upload (the preview) and again
before an all-or-nothing import applies. The lookups of stored contacts are shared with
`contacts_upsert`, so both see a deleted customer's email the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from shopify_app.imports.attribute_definitions import attribute_plan
from shopify_app.imports.attribute_types import TypedColumns
from shopify_app.imports.contacts_rows import (
    COLUMNS,
    DELETED,
    REJECTED,
    ContactRow,
    ContactRowParser,
    ContactsCounts,
    decide,
)
from shopify_app.imports.reading import CsvSource, map_columns
from shopify_app.imports.row_errors import RowError
from shopify_app.platform.extensions import db
from shopify_app.platform.models import Customer, SegmentMember

#: receives each checked chunk: its records, parsed rows and rejected rows.
OnChunk = Callable[[list[tuple[int, list[str]]], list[ContactRow], list[RowError]], None]


@dataclass
class ContactsPreview:
    rows: int = 0
    valid_rows: int = 0
    counts: ContactsCounts = field(default_factory=ContactsCounts)
    #: distinct contacts of the file already in the segment (they stay; nothing to add).
    already_in_segment: int = 0
    seen: set[str] = field(default_factory=set)

    def figures(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "valid_rows": self.valid_rows,
            "error_rows": self.rows - self.valid_rows,
            "already_in_segment": self.already_in_segment,
            **self.counts.as_dict(),
        }


def preview_contacts(
    shop_id: int,
    rows: Iterable[tuple[int, list[str]]],
    parser: ContactRowParser,
    on_errors: Callable[[list[RowError]], None],
    *,
    segment_id: int | None = None,
    update_existing: bool = False,
    chunk_size: int = 20_000,
    on_chunk: OnChunk | None = None,
) -> ContactsPreview:
    """Validate every row and count what the job will do, without writing.

    Args:
        on_chunk: called with each checked chunk (its records, parsed rows and rejected rows),
            so the job can apply what this pass parsed without reading it again.
    """
    preview = ContactsPreview()
    chunk: list[tuple[int, list[str]]] = []
    for record in rows:
        chunk.append(record)
        if len(chunk) >= chunk_size:
            checked = _preview_chunk(
                shop_id, segment_id, update_existing, chunk, parser, preview, on_errors
            )
            if on_chunk is not None:
                on_chunk(chunk, *checked)
            chunk = []
    if chunk:
        checked = _preview_chunk(
            shop_id, segment_id, update_existing, chunk, parser, preview, on_errors
        )
        if on_chunk is not None:
            on_chunk(chunk, *checked)
    preview.seen.clear()
    return preview


def _preview_chunk(
    shop_id: int,
    segment_id: int | None,
    update_existing: bool,
    chunk: list[tuple[int, list[str]]],
    parser: ContactRowParser,
    preview: ContactsPreview,
    on_errors: Callable[[list[RowError]], None],
) -> tuple[list[ContactRow], list[RowError]]:
    """Check one chunk; returns its parsed rows and its rejected rows."""
    errors: list[RowError] = []
    parsed: list[tuple[ContactRow, list[str]]] = []
    for row_number, values in chunk:
        result = parser(row_number, values)
        if isinstance(result, RowError):
            errors.append(result)
        else:
            parsed.append((result, values))
    existing = existing_contacts(shop_id, {row.email_key for row, _ in parsed})
    members = _members(segment_id, {found[0] for found in existing.values() if not found[1]})
    counts = preview.counts
    for row, values in parsed:
        found = existing.get(row.email_key)
        first_time = row.email_key not in preview.seen
        decision = decide(found, first_time, update_existing)
        if decision == REJECTED:
            errors.append(parser._error(row.row_number, values, "email", row.email, DELETED))
            continue
        preview.valid_rows += 1
        counts.count(decision)
        if first_time and segment_id is not None:
            if found is not None and found[0] in members:
                preview.already_in_segment += 1
            else:
                counts.added_to_segment += 1
        preview.seen.add(row.email_key)
    preview.rows += len(chunk)
    if errors:
        errors.sort(key=lambda e: e.row_number)
        on_errors(errors)
    return [row for row, _ in parsed], errors


def _members(segment_id: int | None, customer_ids: set[int]) -> set[int]:
    """Which of these customers are in the segment already."""
    if segment_id is None or not customer_ids:
        return set()
    ordered = sorted(customer_ids)
    found: set[int] = set()
    for start in range(0, len(ordered), 5_000):
        found.update(
            db.session.execute(
                select(SegmentMember.customer_id).where(
                    SegmentMember.segment_id == segment_id,
                    SegmentMember.customer_id.in_(ordered[start : start + 5_000]),
                )
            ).scalars()
        )
    return found


def existing_contacts(shop_id: int, keys: set[str]) -> dict[str, tuple[int, bool, dict[str, Any]]]:
    """email_key → (customer id, deleted or redacted, attributes)."""
    found: dict[str, tuple[int, bool, dict[str, Any]]] = {}
    ordered = list(keys)
    for start in range(0, len(ordered), 5_000):
        rows = db.session.execute(
            select(
                Customer.email_key,
                Customer.id,
                Customer.deleted_at,
                Customer.redacted_at,
                Customer.attributes,
            ).where(
                Customer.shop_id == shop_id, Customer.email_key.in_(ordered[start : start + 5_000])
            )
        )
        for key, customer_id, deleted_at, redacted_at, attributes in rows:
            dead = deleted_at is not None or redacted_at is not None
            found[key] = (customer_id, dead, attributes or {})
    return found


def contacts_figures(
    shop_id: int,
    source: CsvSource,
    rows: Iterable[tuple[int, list[str]]],
    on_errors: Callable[[list[RowError]], None],
    segment_id: int | None,
    update_existing: bool,
    *,
    on_chunk: OnChunk,
    **options: Any,
) -> tuple[dict[str, Any], dict[str, int]]:
    """The preview's figures of a contacts file, its other columns typed as attributes, and
    the columns it shows ({name: position})."""
    mapping = map_columns(source, COLUMNS)
    parser = ContactRowParser(source, mapping)
    typing = TypedColumns(parser.extra)

    def typed_chunk(records, parsed, errors) -> None:
        typing.add(records)
        on_chunk(records, parsed, errors)

    figures = preview_contacts(
        shop_id,
        rows,
        parser,
        on_errors,
        segment_id=segment_id,
        update_existing=update_existing,
        on_chunk=typed_chunk,
        **options,
    ).figures()
    figures["attributes"] = attribute_plan(shop_id, typing.columns)
    return figures, mapping
