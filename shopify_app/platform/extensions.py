"""Extensions created unbound, so the factory (and each test) binds them to its own app."""

from __future__ import annotations

from flask import Flask, current_app
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from redis import Redis
from rq import Queue
from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from shopify_app.platform.models.base import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate()


def init_app(app: Flask) -> None:
    """Bind the database, migrations and the Redis connection to the app."""
    app.config.setdefault("SQLALCHEMY_DATABASE_URI", app.config["DATABASE_URL"])
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    engine_options = app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {})
    if uri.startswith("sqlite"):
        # Workers and web requests share the file; wait for locks instead of failing.
        engine_options.setdefault("connect_args", {"timeout": 30})
    else:
        # Recycle rather than ping on every checkout: a ping is a round trip per request.
        engine_options.setdefault("pool_recycle", 300)
        if "connect_timeout" not in make_url(uri).query:
            # psycopg waits 130 s for a server that does not answer; a page must say
            # "try again" long before that.
            engine_options.setdefault("connect_args", {}).setdefault(
                "connect_timeout", app.config["DATABASE_CONNECT_TIMEOUT"]
            )
    db.init_app(app)
    if uri.startswith("sqlite"):
        with app.app_context():
            event.listen(db.engine, "savepoint", _begin_before_first_savepoint)
    migrate.init_app(app, db, render_as_batch=True, directory=str(app.config["MIGRATIONS_DIR"]))
    app.extensions["redis"] = Redis.from_url(
        app.config["REDIS_URL"], socket_connect_timeout=2, socket_timeout=5
    )


def is_database_unreachable(error: BaseException) -> bool:
    """True for a failure to reach the database (refused, dropped, shut down, no pooled
    connection in time), which deserves a 503 and a retry rather than a 500.

    A DBAPI OperationalError is by definition not the program's fault; `engine.raw_connection()`
    (the webhook intake's fast path) raises the driver's own, unwrapped.
    """
    if isinstance(error, PoolTimeout):
        return True
    cause = error.orig if isinstance(error, OperationalError) else error
    if not isinstance(cause, db.engine.dialect.loaded_dbapi.OperationalError):
        return False
    # A deadlock, a timeout or "no such table" is an OperationalError too, but the server
    # answered: only failures without a server's SQLSTATE, or of class 08 (connection) and
    # 57P (shutdown), mean it cannot be reached.
    sqlstate = getattr(cause, "sqlstate", None)
    if db.engine.dialect.name == "sqlite":
        return "unable to open database" in str(cause) or "disk I/O error" in str(cause)
    return sqlstate is None or sqlstate.startswith(("08", "57P"))


def _begin_before_first_savepoint(conn: Connection, name: str) -> None:
    """SQLite: open the transaction a SAVEPOINT would otherwise stand in for.

    pysqlite sends BEGIN only before the first INSERT/UPDATE/DELETE; a SAVEPOINT issued before
    any write then starts the transaction itself, and its RELEASE commits everything, so a
    later rollback kept the write (a refused redeem left its row behind).
    """
    if not conn.connection.dbapi_connection.in_transaction:
        conn.exec_driver_sql("BEGIN")


def redis_conn(app: Flask | None = None) -> Redis:
    """The app's Redis connection."""
    return (app or current_app).extensions["redis"]


def queue(app: Flask | None = None) -> Queue:
    """The app's RQ queue; `RQ_ASYNC=False` runs jobs inline (the no-Redis demo)."""
    app = app or current_app
    return Queue(
        app.config["RQ_QUEUE"], connection=redis_conn(app), is_async=app.config["RQ_ASYNC"]
    )
