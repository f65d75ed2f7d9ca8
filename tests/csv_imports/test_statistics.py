"""A bulk import refreshes statistics the planner would otherwise read stale (PostgreSQL)."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import text

from shopify_app.platform.db import STALE_STATISTICS_ROWS, is_postgresql, refresh_stale_statistics
from shopify_app.platform.extensions import db
from tests.factories import make_customers


def _changed_since_analyze(table: str) -> int:
    row = db.session.execute(
        text("SELECT n_mod_since_analyze FROM pg_stat_user_tables WHERE relname = :t"),
        {"t": table},
    ).scalar()
    return int(row or 0)


def test_a_table_changed_by_a_bulk_write_is_analysed_once(ctx, shop):
    if not is_postgresql():
        assert refresh_stale_statistics("customers") == []  # SQLite plans without them
        return
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("ANALYZE customers"))
    make_customers(shop, [{} for _ in range(STALE_STATISTICS_ROWS + 500)])
    db.session.commit()
    deadline = time.monotonic() + 10
    while _changed_since_analyze("customers") < STALE_STATISTICS_ROWS:  # stats flush lazily
        assert time.monotonic() < deadline, "the insert never reached pg_stat_user_tables"
        db.session.rollback()
        time.sleep(0.2)
    db.session.rollback()

    assert refresh_stale_statistics("customers", "segment_members") == ["customers"]
    assert refresh_stale_statistics("customers") == []  # fresh now: nothing to do


@pytest.mark.parametrize("tables", [(), ("no_such_table",)])
def test_nothing_to_analyse_is_a_no_op(ctx, tables):
    assert refresh_stale_statistics(*tables) == []
