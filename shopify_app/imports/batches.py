"""A batch of an import as the job applies it: parsed rows, rejected rows and raw records.

Shared by every kind's runner (`apply` for points and contacts, `events_apply` for events), so
a kind lives in its own module and the job's loop stays the same for all of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shopify_app.imports.row_errors import RowError


@dataclass
class Parsed:
    """A batch after parsing: rows ready to apply, rows already rejected, raw records."""

    rows: list[Any]
    errors: list[RowError]
    records: dict[int, list[str]]
    last_row: int
    size: int
    #: on PostgreSQL: the rows in COPY's text format, built by the reader thread.
    staged: str | None = None


def parse_batch(parser: Any, batch: list[tuple[int, list[str]]], keep: Any) -> Parsed:
    """Run the kind's row parser over a batch; `keep` holds the raw records for rejections."""
    rows: list[Any] = []
    errors: list[RowError] = []
    for row_number, values in batch:
        result = parser(row_number, values)
        if isinstance(result, RowError):
            errors.append(result)
        else:
            rows.append(result)
    records = {row_number: values for row_number, values in batch} if keep else {}
    return Parsed(rows, errors, records, batch[-1][0], len(batch))
