"""The pages in headless Chromium: they render with their data and no console errors.

A second app in DEMO_MODE (loopback session tokens, no App Bridge CDN) serves the same
PostgreSQL database over HTTP; each page is screenshotted into the artifacts folder.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from werkzeug.serving import make_server

from demo.shop import ensure_demo_shop
from shopify_app import create_app
from shopify_app.platform.auth.demo_tokens import DEMO_SHOP
from shopify_app.platform.extensions import db
from tests.browser import capture
from tests.factories import seed_showcase
from tests.ports import free_port

pytestmark = pytest.mark.browser
SHARED = [
    "SQLALCHEMY_DATABASE_URI",
    "DATABASE_URL",
    "REDIS_URL",
    "SHOPIFY_API_KEY",
    "SHOPIFY_API_SECRET",
    "SHOPIFY_API_BASE",
    "SECRET_KEY",
    "EXPORT_DIR",
    "IMPORT_DIR",
]


@pytest.fixture(scope="module")
def demo_url(app) -> Iterator[str]:
    port = free_port()
    demo = create_app(
        {
            **{k: app.config[k] for k in SHARED},
            "DEMO_MODE": True,
            "SHOPIFY_APP_URL": f"http://127.0.0.1:{port}",
        }
    )
    server = make_server("127.0.0.1", port, demo, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()
    with demo.app_context():
        db.engine.dispose()


@pytest.fixture
def showcase(ctx):
    shop = ensure_demo_shop()
    db.session.flush()
    best = seed_showcase(shop)
    db.session.commit()
    return best.id


def _page(url: str, shot):
    page = capture(url, shot, size="1280,1400", budget_ms=5000)
    assert page.console_errors == []
    assert page.screenshot.stat().st_size > 20_000
    return page.dom


def test_customers_table_in_chromium(demo_url, showcase, artifacts):
    dom = _page(f"{demo_url}/customers?shop={DEMO_SHOP}", artifacts / "customers-table.png")
    assert "Ada Lovelace" in dom and "Successful referrals" in dom
    assert dom.count('data-bulk-row=""') == 50
    # The count arrives after the page: "select all N matching" and the total below the table.
    assert "Select all 60 matching customers" in dom and "60 customers" in dom


def test_add_customer_modal_in_chromium(demo_url, showcase, artifacts):
    dom = _page(f"{demo_url}/customers/new?shop={DEMO_SHOP}", artifacts / "add-customer-modal.png")
    assert '<dialog class="p-modal" id="add-customer"' in dom
    assert 'open=""' in dom.split('id="add-customer"')[1].split(">")[0]


def test_metrics_chart_in_chromium(demo_url, showcase, artifacts):
    dom = _page(f"{demo_url}/metrics?shop={DEMO_SHOP}", artifacts / "metrics.png")
    canvas = dom.split('data-chart="metrics-chart"')[1].split(">")[0]
    assert "box-sizing: border-box" in canvas  # Chart.js drew into the canvas
    assert "Top referrers" in dom and "Ada Lovelace" in dom
