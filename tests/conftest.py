"""Fixtures on real parts: PostgreSQL (or SQLite), Redis, RQ workers, the Shopify double.

`TEST_DATABASE_URL` picks the database (PostgreSQL by default; `sqlite:///…` runs the same
suite on the embedded default) and `TEST_REDIS_URL` a dedicated Redis database that is
flushed around each test. The schema is built once per session through the migrations.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from werkzeug.serving import make_server

from mailchimp_double import MailchimpDouble
from shopify_app import create_app
from shopify_app.platform.extensions import db, redis_conn
from shopify_double import ShopifyDouble
from tests.helpers import API_KEY, API_SECRET, AdminClient, make_shop
from tests.ports import free_port
from tests.workers import WorkerPool
from webhooks.drain import forget_kick_window

DEFAULT_DB = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DATABASE_URL = os.environ.get("TEST_DATABASE_URL", DEFAULT_DB)
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS", Path(__file__).parent.parent / "artifacts"))


def _ensure_database(url: str) -> None:
    """Create the PostgreSQL database named in the URL if it does not exist yet."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("postgresql"):
        return
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": parsed.database}
        ).scalar()
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()


#: the app's public URL in tests: where the live server listens and the double sends webhooks.
APP_PORT = free_port()
APP_URL = f"http://127.0.0.1:{APP_PORT}"


class LiveServer:
    """The app served over real HTTP in a thread, for the double's webhooks and the browser."""

    def __init__(self, app: Flask) -> None:
        self.server = make_server("127.0.0.1", APP_PORT, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> LiveServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()


@pytest.fixture(scope="session")
def shopify_double() -> Iterator[ShopifyDouble]:
    double = ShopifyDouble(api_key=API_KEY, api_secret=API_SECRET, app_url=APP_URL)
    double.start()
    yield double
    double.stop()


@pytest.fixture(scope="session")
def mailchimp_double() -> Iterator[MailchimpDouble]:
    double = MailchimpDouble()
    double.start()
    yield double
    double.stop()


@pytest.fixture(scope="session")
def app(
    shopify_double: ShopifyDouble,
    mailchimp_double: MailchimpDouble,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Flask]:
    _ensure_database(DATABASE_URL)
    instance = tmp_path_factory.mktemp("instance")
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": DATABASE_URL,
            "SQLALCHEMY_DATABASE_URI": DATABASE_URL,
            "REDIS_URL": REDIS_URL,
            "SHOPIFY_API_KEY": API_KEY,
            "SHOPIFY_API_SECRET": API_SECRET,
            "SHOPIFY_API_BASE": shopify_double.api_base,
            "SHOPIFY_APP_URL": APP_URL,
            "SECRET_KEY": "test-secret-key",
            "IMPORT_DIR": str(instance / "imports"),
            "EXPORT_DIR": str(instance / "exports"),
            "HTTP_TIMEOUT": 5.0,
            "MAILCHIMP_CLIENT_ID": mailchimp_double.client_id,
            "MAILCHIMP_CLIENT_SECRET": mailchimp_double.client_secret,
            "MAILCHIMP_OAUTH_BASE": mailchimp_double.oauth_base,
            "MAILCHIMP_API_BASE": mailchimp_double.api_base,
        }
    )
    with app.app_context():
        _reset_schema()
    yield app
    with app.app_context():
        db.engine.dispose()


def _reset_schema() -> None:
    """Drop everything and build the schema through the migrations (which tests them)."""

    with db.engine.begin() as conn:
        if db.engine.dialect.name == "postgresql":
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        else:
            tables = (
                conn.execute(text("SELECT name FROM sqlite_master WHERE type='table'"))
                .scalars()
                .all()
            )
            for table in tables:
                conn.execute(text(f'DROP TABLE IF EXISTS "{table}"'))
    upgrade(directory=str(Path(__file__).parent.parent / "migrations"), revision="heads")


def _empty_tables() -> None:
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    with db.engine.begin() as conn:
        if db.engine.dialect.name == "postgresql":
            conn.execute(
                text(
                    "TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"
                )
            )
        else:
            for table in tables:
                conn.execute(text(f'DELETE FROM "{table}"'))


@pytest.fixture(autouse=True)
def _clean_state(request: pytest.FixtureRequest) -> Iterator[None]:
    """Empty tables, Redis and the double after each test that used the app."""
    yield
    if "app" not in request.fixturenames:
        return
    app: Flask = request.getfixturevalue("app")
    with app.app_context():
        db.session.remove()
        _empty_tables()
        # Files belong to rows that are gone now (ids restart): a later test must not see them.
        for setting in ("IMPORT_DIR", "EXPORT_DIR"):
            shutil.rmtree(app.config[setting], ignore_errors=True)
        redis_conn().flushdb()
        forget_kick_window()
    request.getfixturevalue("shopify_double").reset()
    request.getfixturevalue("mailchimp_double").reset()


@pytest.fixture
def ctx(app: Flask) -> Iterator[Flask]:
    """An app context for tests that call services directly."""
    with app.app_context():
        redis_conn().flushdb()
        forget_kick_window()
        yield app
        db.session.remove()


@pytest.fixture
def client(app: Flask):
    return app.test_client()


@pytest.fixture
def runner(app: Flask):
    return app.test_cli_runner()


@pytest.fixture(scope="session")
def live_server(app: Flask, shopify_double: ShopifyDouble) -> Iterator[LiveServer]:
    server = LiveServer(app).start()
    yield server
    server.stop()


@pytest.fixture
def shop(ctx: Flask, shopify_double: ShopifyDouble):
    """An installed shop, known to the double, with a valid offline token."""
    return make_shop(shopify_double, "test-shop.myshopify.com")


@pytest.fixture
def admin(client, shop, shopify_double: ShopifyDouble) -> AdminClient:
    return AdminClient(client, shop.domain, shopify_double)


@pytest.fixture
def workers(app: Flask) -> Iterator[WorkerPool]:
    """Start real `flask worker` processes; they are stopped after the test."""
    pool = WorkerPool(app)
    yield pool
    pool.stop_all()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
