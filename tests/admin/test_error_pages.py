"""Error pages keep the app's navigation and a way back, and never show exception text."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from shopify_app import create_app
from shopify_app.platform.extensions import db
from tests.helpers import AdminClient
from tests.workers import PASSED_SETTINGS


def test_a_missing_page_keeps_the_navigation_and_a_way_home(admin):
    response = admin.get("/no-such-page")
    page = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "Page not found" in page
    assert 'class="p-nav"' in page and ">Customers</a>" in page
    assert "Back to Home" in page and "id_token=" in page


def test_a_missing_page_without_a_session_says_where_to_open_the_app(client):
    response = client.get("/no-such-page")
    page = response.get_data(as_text=True)
    assert response.status_code == 404
    assert 'class="p-nav"' not in page
    assert "from the Apps section of your Shopify admin" in page


def test_a_forged_token_on_a_missing_page_shows_no_navigation(client, shop):
    response = client.get("/no-such-page", query_string={"id_token": "forged.token.value"})
    assert response.status_code == 404
    assert 'class="p-nav"' not in response.get_data(as_text=True)


@pytest.fixture
def failing_app(app: Flask) -> Iterator[Flask]:
    """The app with one view that fails as a bug would, and exceptions handled, not raised."""
    broken = create_app({key: app.config[key] for key in PASSED_SETTINGS})
    broken.config["PROPAGATE_EXCEPTIONS"] = False

    def explode():
        raise RuntimeError("secret internals: password=hunter2 at /srv/app/views.py line 12")

    broken.add_url_rule("/explode", "explode", explode)
    yield broken
    with broken.app_context():
        db.engine.dispose()


def test_a_server_error_keeps_the_navigation_and_hides_the_exception(
    failing_app, shop, shopify_double
):
    admin = AdminClient(failing_app.test_client(), shop.domain, shopify_double)
    response = admin.get("/explode")
    page = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Something went wrong" in page and "nothing was changed" in page
    assert 'class="p-nav"' in page and "Back to Home" in page
    assert "hunter2" not in page and "RuntimeError" not in page and "Traceback" not in page


def test_a_server_error_on_a_fetch_is_json_without_the_exception(failing_app, shop, shopify_double):
    admin = AdminClient(failing_app.test_client(), shop.domain, shopify_double)
    response = admin.get("/explode", fetch=True)
    assert response.status_code == 500
    assert response.json["error"] == "internal error"
    assert "hunter2" not in response.get_data(as_text=True)
