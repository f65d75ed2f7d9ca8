"""The README's run path on its embedded default: SQLite, demo shop, pages in Chromium."""

from __future__ import annotations

import pytest
import requests

from shopify_app.platform.auth.demo_tokens import DEMO_SHOP
from tests.browser import capture
from tests.demo_server import running_demo


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory):
    """`flask init-db`, `flask demo` and `flask run` on SQLite, as bin/run does."""
    env = {
        "RQ_ASYNC": "0",
        # No Shopify double here: the demo seeds its customers locally.
        "SHOPIFY_API_BASE": "http://127.0.0.1:9/{shop}",
    }
    with running_demo(tmp_path_factory.mktemp("quickstart"), env=env) as demo:
        yield demo.home


@pytest.mark.slow
def test_demo_url_opens_the_home_page_without_shopify(demo_server):
    response = requests.get(demo_server, timeout=10)
    assert response.status_code == 200
    assert "Demo Referrals Store" in response.text
    assert "Members" in response.text and "Guests" in response.text


@pytest.mark.browser
def test_demo_home_renders_in_chromium(demo_server, artifacts):
    page = capture(demo_server, artifacts / "demo-home.png")
    assert "Demo Referrals Store" in page.dom
    assert page.console_errors == []
    assert page.screenshot.stat().st_size > 10_000


def test_demo_tokens_are_refused_when_demo_mode_is_off(app, client):

    response = client.get(f"/?shop={DEMO_SHOP}&embedded=1")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/session-token")
