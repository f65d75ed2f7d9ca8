"""Rejected rows: what was wrong with a row, stored so the merchant can fix and re-upload it."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from shopify_app.platform.db import driver_cursor, is_postgresql
from shopify_app.platform.extensions import db
from shopify_app.platform.models import ImportRowError


@dataclass(slots=True)
class RowError:
    """One rejected row: the column and value at fault and a reason a merchant understands."""

    row_number: int
    column: str | None
    value: str | None
    reason: str
    raw: dict[str, Any] | None = None

    def as_row(self, import_id: int) -> dict[str, Any]:
        return {
            "import_id": import_id,
            "row_number": self.row_number,
            "column": self.column,
            "value": None if self.value is None else self.value[:1000],
            "reason": self.reason[:500],
            "raw": self.raw,
        }


def store_row_errors(import_id: int, errors: Iterable[RowError]) -> int:
    """Insert errors once per row (a re-run batch adds nothing); returns how many were new."""
    rows = [error.as_row(import_id) for error in errors]
    if not rows:
        return 0
    if is_postgresql():
        return _copy_errors(rows)
    stored = 0
    for start in range(0, len(rows), 500):
        stmt = sqlite_insert(ImportRowError).on_conflict_do_nothing(
            index_elements=["import_id", "row_number"]
        )
        stored += db.session.connection().execute(stmt, rows[start : start + 500]).rowcount or 0
    return stored


def _copy_errors(rows: list[dict[str, Any]]) -> int:
    """COPY into a temporary table, then one INSERT … ON CONFLICT DO NOTHING."""
    cursor = driver_cursor()
    cursor.execute(
        "CREATE TEMP TABLE IF NOT EXISTS import_errors_stage "
        "(import_id int, row_number int, col text, value text, reason text, raw text) "
        "ON COMMIT DELETE ROWS"
    )
    cursor.execute("TRUNCATE import_errors_stage")
    with cursor.copy(
        "COPY import_errors_stage (import_id, row_number, col, value, reason, raw) FROM STDIN"
    ) as copy:
        for row in rows:
            raw = json.dumps(row["raw"], ensure_ascii=False) if row["raw"] is not None else None
            copy.write_row(
                (
                    row["import_id"],
                    row["row_number"],
                    row["column"],
                    row["value"],
                    row["reason"],
                    raw,
                )
            )
    cursor.execute(
        'INSERT INTO import_row_errors (import_id, row_number, "column", value, reason, raw) '
        "SELECT import_id, row_number, col, value, reason, raw::json FROM import_errors_stage "
        "ON CONFLICT (import_id, row_number) DO NOTHING"
    )
    return cursor.rowcount


def clear_row_errors(import_id: int) -> None:
    db.session.execute(delete(ImportRowError).where(ImportRowError.import_id == import_id))
