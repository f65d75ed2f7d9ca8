"""Query helpers every capability shares: the one place that asks which database this is.

PostgreSQL gets the set-based fast paths (COPY, `= ANY`, `FOR NO KEY UPDATE`, time zones in
SQL); SQLite, the embedded default, gets portable statements with the same results. Code asks
`is_postgresql()` or takes `upsert_insert()` instead of reading `dialect.name` itself.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite

from shopify_app.platform.extensions import db


def like_escaped(text: str) -> str:
    """`text` matched literally by LIKE/ILIKE with `escape="\\"` (its %, _ and \\ escaped)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def is_postgresql() -> bool:
    """True on PostgreSQL (the production database), False on the embedded SQLite."""
    return db.session.get_bind().dialect.name == "postgresql"


def upsert_insert(model: Any) -> Any:
    """An INSERT that takes `.on_conflict_do_nothing()` / `.on_conflict_do_update()` here."""
    return (postgresql.insert if is_postgresql() else sqlite.insert)(model)


def driver_cursor(*, binary: bool = False) -> Any:
    """The session connection's psycopg cursor, for COPY (PostgreSQL only)."""
    raw = db.session.connection().connection.driver_connection
    return raw.cursor(binary=True) if binary else raw.cursor()
