"""A batch of an import as the job applies it: parsed rows, rejected rows and raw records.

Shared by every kind's runner (`apply` for points and contacts, `people_apply`, `events_apply`),
so a kind lives in its own module and the job's loop stays the same for all of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from shopify_app.imports.reading import CsvSource
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
    #: a points batch's customer per row, where the runner resolves them (None: unknown).
    customer_ids: list[int | None] | None = None

    def errors_with(
        self, source: CsvSource, rejections: Iterable[tuple[int, str | None, str | None, str]]
    ) -> list[RowError]:
        """The batch's parse errors plus the rows applying it rejected, each with its record."""
        errors = list(self.errors)
        for row_number, column, value, reason in rejections:
            raw = source.raw_record(self.records[row_number])
            errors.append(RowError(row_number, column, value, reason, raw))
        return errors


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
