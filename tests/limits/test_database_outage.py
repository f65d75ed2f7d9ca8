"""The database cannot be reached: 503s that say so, quickly, and never an unhandled error.

An app is built against a PostgreSQL port nothing listens on (refused at once), or one that
accepts connections and never answers (only the connect timeout ends the wait).
"""

from __future__ import annotations

import html
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from shopify_app import create_app
from shopify_app.platform.extensions import db, is_database_unreachable
from tests.conftest import REDIS_URL
from tests.helpers import API_KEY, API_SECRET, sign_webhook
from tests.ports import free_port

SHOP = "outage-shop.myshopify.com"
MESSAGE = "We can't reach our database right now, try again in a minute"


def _app_with_database_at(port: int, tmp_path) -> Flask:
    return create_app(
        {
            "TESTING": True,  # an unhandled exception would fail the test, not become a 500
            "DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:{port}/x",
            "DATABASE_CONNECT_TIMEOUT": 2,
            "REDIS_URL": REDIS_URL,
            "SHOPIFY_API_KEY": API_KEY,
            "SHOPIFY_API_SECRET": API_SECRET,
            "IMPORT_DIR": str(tmp_path / "imports"),
            "EXPORT_DIR": str(tmp_path / "exports"),
        }
    )


@pytest.fixture
def outage_app(tmp_path) -> Iterator[Flask]:
    app = _app_with_database_at(free_port(), tmp_path)
    yield app
    with app.app_context():
        db.engine.dispose()


def test_a_page_gets_a_styled_503_in_the_merchants_words(outage_app, shopify_double):
    token = shopify_double.session_token(SHOP)
    started = time.monotonic()
    response = outage_app.test_client().get(f"/?shop={SHOP}&embedded=1&id_token={token}")
    assert response.status_code == 503
    assert time.monotonic() - started < 2
    assert response.mimetype == "text/html"
    page = html.unescape(response.get_data(as_text=True))
    assert MESSAGE in page and "Temporarily unavailable" in page
    assert "polaris.css" in page and "p-banner--warning" in page and "Try again" in page
    assert response.headers["Retry-After"] == "60"
    assert f"frame-ancestors https://{SHOP}" in response.headers["Content-Security-Policy"]


def test_a_fetch_gets_a_json_503(outage_app, shopify_double):
    token = shopify_double.session_token(SHOP)
    response = outage_app.test_client().get(
        "/customers", headers={"Authorization": f"Bearer {token}", "Accept": "application/json"}
    )
    assert response.status_code == 503
    assert response.json == {"error": "database unavailable", "detail": MESSAGE + "."}


def test_a_signed_webhook_gets_503_so_shopify_retries(outage_app, shopify_double):
    body, headers = sign_webhook(shopify_double, "customers/create", SHOP, {"id": 1})
    response = outage_app.test_client().post("/webhooks", data=body, headers=headers)
    assert response.status_code == 503
    assert response.json == {"error": "database unavailable"}


def test_a_database_that_never_answers_gives_up_within_the_connect_timeout(
    tmp_path, shopify_double
):
    """The kernel accepts the connection; no server ever speaks. psycopg alone waits 130 s."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        app = _app_with_database_at(silent.getsockname()[1], tmp_path)
        token = shopify_double.session_token(SHOP)
        answers: list[int] = []
        request = threading.Thread(
            target=lambda: answers.append(
                app.test_client().get(f"/?shop={SHOP}&id_token={token}").status_code
            ),
            daemon=True,
        )
        started = time.monotonic()
        request.start()
        request.join(timeout=10)
        elapsed = time.monotonic() - started
    assert answers == [503], f"no answer after {elapsed:.0f} s"
    assert elapsed < 6


def test_an_error_the_server_answered_is_not_an_outage(ctx):
    """A statement timeout (SQLite: a missing table) is an OperationalError too, but the
    database was reached: a 500 to fix, not a 503 "try again" nor a webhook Shopify would
    retry for ever."""
    if db.engine.dialect.name == "postgresql":
        statements = ["SET LOCAL statement_timeout = 1", "SELECT pg_sleep(1)"]
    else:
        statements = ["SELECT * FROM no_such_table"]
    with pytest.raises(OperationalError) as caught:
        for statement in statements:
            db.session.execute(text(statement))
    db.session.rollback()
    assert not is_database_unreachable(caught.value)
