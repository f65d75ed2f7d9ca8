"""The migrations build exactly the schema the models declare, on the database the suite runs on.

If a model and the migrations disagree, `flask db migrate` proposes a change nobody asked for
(dropping an index that only a migration created, say) and the next migration carries it.
Each test builds a scratch database from nothing through the migrations, beside the session's.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from flask_migrate import downgrade, upgrade
from sqlalchemy import Connection, create_engine, inspect, text
from sqlalchemy.engine import URL, Engine, make_url

from shopify_app import create_app
from shopify_app.platform.extensions import db


def _admin_engine(url: URL) -> Engine:
    return create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")


def _drop_database(url: URL) -> None:
    engine = _admin_engine(url)
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
    engine.dispose()


def _create_database(url: URL) -> None:
    _drop_database(url)
    engine = _admin_engine(url)
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{url.database}"'))
    engine.dispose()


@pytest.fixture
def scratch_url(app: Flask, tmp_path) -> Iterator[URL]:
    """An empty database of the suite's kind: `<name>_migrations` on PostgreSQL, or a temp file."""
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() != "postgresql":
        yield url.set(database=str(tmp_path / "migrations.sqlite3"))
        return
    scratch = url.set(database=f"{url.database}_migrations")
    _create_database(scratch)
    yield scratch
    _drop_database(scratch)


@pytest.fixture
def scratch_app(app: Flask, scratch_url: URL) -> Iterator[Flask]:
    """The app bound to the scratch database, its context pushed, nothing migrated yet."""
    uri = scratch_url.render_as_string(hide_password=False)
    scratch = create_app({"TESTING": True, "DATABASE_URL": uri, "SQLALCHEMY_DATABASE_URI": uri})
    with scratch.app_context():
        yield scratch
        db.session.remove()
        db.engine.dispose()


def _upgrade(app: Flask) -> None:
    upgrade(directory=str(app.config["MIGRATIONS_DIR"]), revision="heads")


def _downgrade(app: Flask) -> None:
    downgrade(directory=str(app.config["MIGRATIONS_DIR"]), revision="base")


def schema_differences(connection: Connection) -> list[str]:
    """What `flask db migrate` would put in a new migration (server defaults compared too)."""
    context = MigrationContext.configure(
        connection,
        opts={"render_as_batch": True, "compare_type": True, "compare_server_default": True},
    )
    with warnings.catch_warnings():
        # SQLite cannot reflect expression indexes, so autogenerate skips them there (and says
        # so); test_migrations_build_what_the_models_declare compares them by SQLite's own DDL.
        warnings.filterwarnings(
            "ignore", "autogenerate skipping metadata-specified expression-based", UserWarning
        )
        return [_describe(diff) for diff in compare_metadata(context, db.metadata)]


def _describe(diff: tuple | list) -> str:
    """One line per change, e.g. "remove_index ix_customers_shop_id_created_at_id"."""
    if isinstance(diff, list):  # the changes to one column come as a list
        return "; ".join(_describe(change) for change in diff)
    op, *args = diff
    names = [str(getattr(arg, "name", arg)) for arg in args if not isinstance(arg, dict | None)]
    return " ".join([op, *names])


def stated_schema(connection: Connection) -> dict[str, Any]:
    """The schema as the database states it: the reflected tables, plus each index's own DDL.

    Autogenerate does not compare partial-index predicates, INCLUDE columns, operator classes or
    storage parameters, and on SQLite it cannot reflect expression indexes at all; the DDL the
    database keeps for each index (and PostgreSQL's reloptions) shows them.
    """
    inspector = inspect(connection)
    schema: dict[str, Any] = {}
    for table in inspector.get_table_names():
        if table == "alembic_version":
            continue
        for column in inspector.get_columns(table):
            schema[f"{table}.{column['name']}"] = (
                str(column["type"]),
                "NULL" if column["nullable"] else "NOT NULL",
                column["default"],
            )
        schema[f"{table}: primary key"] = inspector.get_pk_constraint(table)
        schema[f"{table}: foreign keys"] = sorted(inspector.get_foreign_keys(table), key=repr)
        schema[f"{table}: unique"] = sorted(inspector.get_unique_constraints(table), key=repr)
    if connection.dialect.name == "postgresql":
        indexes = connection.execute(
            text(
                "SELECT indexname, indexdef FROM pg_indexes"
                " WHERE schemaname = 'public' AND tablename != 'alembic_version'"
            )
        )
        options = connection.execute(
            text(
                "SELECT relname, reloptions FROM pg_class"
                " JOIN pg_namespace ON pg_namespace.oid = relnamespace"
                " WHERE nspname = 'public' AND relkind = 'r' AND reloptions IS NOT NULL"
            )
        )
        schema |= {f"{table}: storage": reloptions for table, reloptions in options}
    else:
        indexes = connection.execute(
            text("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")
        )
    schema |= {f"index {name}": re.sub(r"\s+", " ", sql) for name, sql in indexes}
    return schema


def differences(migrated: dict[str, Any], declared: dict[str, Any]) -> dict[str, tuple]:
    """Each entry that differs, as (what the migrations built, what the models declare)."""
    return {
        key: (migrated.get(key), declared.get(key))
        for key in sorted(migrated.keys() | declared.keys())
        if migrated.get(key) != declared.get(key)
    }


def test_autogenerate_finds_nothing_to_change_after_the_migrations(scratch_app: Flask):
    _upgrade(scratch_app)
    with db.engine.connect() as conn:
        assert schema_differences(conn) == []


def test_migrations_build_what_the_models_declare(scratch_app: Flask):
    _upgrade(scratch_app)
    with db.engine.begin() as conn:
        migrated = stated_schema(conn)
        db.metadata.drop_all(conn)
        conn.execute(text("DROP TABLE alembic_version"))
        db.metadata.create_all(conn)
        declared = stated_schema(conn)
    assert differences(migrated, declared) == {}


def test_migrations_downgrade_to_nothing_and_upgrade_again(scratch_app: Flask):
    _upgrade(scratch_app)
    _downgrade(scratch_app)
    with db.engine.connect() as conn:
        assert set(inspect(conn).get_table_names()) <= {"alembic_version"}
    _upgrade(scratch_app)
    with db.engine.connect() as conn:
        assert schema_differences(conn) == []
