"""Rejected rows: what was wrong with a row, stored so the merchant can fix and re-upload it."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, MetaData, Table, Text, delete
from sqlalchemy.schema import CreateTable

from shopify_app.platform.db import (
    TableNames,
    driver_cursor,
    is_postgresql,
    postgresql_ddl,
    upsert_insert,
)
from shopify_app.platform.extensions import db
from shopify_app.platform.models import ImportRowError

#: what a rejected row fills, by model key (as `RowError.as_row` names them), in COPY order.
_COPIED = ("import_id", "row_number", "column", "value", "reason", "raw")
#: rejected rows as COPY fills them: the model's names and types, `raw` as JSON text.
_STAGE = Table(
    "import_errors_stage",
    MetaData(),
    *(
        Column(column.name, Text if key == "raw" else column.type)
        for key in _COPIED
        for column in [ImportRowError.__table__.c[key]]
    ),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DELETE ROWS",
)
_STAGE_DDL = postgresql_ddl(CreateTable(_STAGE, if_not_exists=True))
_ERRORS = TableNames(ImportRowError)
_COPY_SQL = f"COPY import_errors_stage ({_ERRORS.columns(*_COPIED)}) FROM STDIN"
_INSERT_SQL = (
    f"INSERT INTO {_ERRORS} ({_ERRORS.columns(*_COPIED)}) "
    f"SELECT {_ERRORS.columns(*_COPIED[:-1])}, {_ERRORS.raw}::json FROM import_errors_stage "
    f"ON CONFLICT ({_ERRORS.columns('import_id', 'row_number')}) DO NOTHING"
)


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
        stmt = upsert_insert(ImportRowError).on_conflict_do_nothing(
            index_elements=["import_id", "row_number"]
        )
        stored += db.session.connection().execute(stmt, rows[start : start + 500]).rowcount or 0
    return stored


def _copy_errors(rows: list[dict[str, Any]]) -> int:
    """COPY into a temporary table, then one INSERT … ON CONFLICT DO NOTHING."""
    cursor = driver_cursor()
    cursor.execute(_STAGE_DDL)
    cursor.execute("TRUNCATE import_errors_stage")
    with cursor.copy(_COPY_SQL) as copy:
        for row in rows:
            raw = json.dumps(row["raw"], ensure_ascii=False) if row["raw"] is not None else None
            copy.write_row([raw if key == "raw" else row[key] for key in _COPIED])
    cursor.execute(_INSERT_SQL)
    return cursor.rowcount


def clear_row_errors(import_id: int) -> None:
    db.session.execute(delete(ImportRowError).where(ImportRowError.import_id == import_id))
