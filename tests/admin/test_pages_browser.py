"""The pages in headless Chromium: they render with their data and no console errors.

A second app in DEMO_MODE (loopback session tokens, no App Bridge CDN) serves the same
PostgreSQL database over HTTP; each page is screenshotted into the artifacts folder.
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from demo.shop import ensure_demo_shop
from shopify_app import create_app
from shopify_app.platform.auth.demo_tokens import DEMO_SHOP
from shopify_app.platform.extensions import db
from tests.browser import capture
from tests.csv_imports.cdp import Browser
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


def test_customer_detail_in_chromium(demo_url, showcase, artifacts):
    dom = _page(
        f"{demo_url}/customers/{showcase}?shop={DEMO_SHOP}", artifacts / "customer-detail.png"
    )
    assert "View in Shopify" in dom and 'target="_top"' in dom
    assert "/apps/referrals/r/REF0000" in dom
    assert "Completed" in dom and "Points history" in dom and "Spring import" in dom


def test_add_customer_modal_in_chromium(demo_url, showcase, artifacts):
    dom = _page(f"{demo_url}/customers/new?shop={DEMO_SHOP}", artifacts / "add-customer-modal.png")
    assert '<dialog class="p-modal" id="add-customer"' in dom
    assert 'open=""' in dom.split('id="add-customer"')[1].split(">")[0]


def test_metrics_chart_in_chromium(demo_url, showcase, artifacts):
    dom = _page(f"{demo_url}/metrics?shop={DEMO_SHOP}", artifacts / "metrics.png")
    canvas = dom.split('data-chart="metrics-chart"')[1].split(">")[0]
    assert "box-sizing: border-box" in canvas  # Chart.js drew into the canvas
    assert "Top referrers" in dom and "Ada Lovelace" in dom


def _layout(demo_url: str, path: str, size: str, shot) -> dict:
    """Measure a page at one window size: what sticks out of the window or scrolls in a box."""
    with tempfile.TemporaryDirectory() as downloads:
        browser = Browser(Path(downloads), size=size)
        try:
            width, height = (int(n) for n in size.split(","))
            # Headless windows are at least 500 px wide: emulate the narrower screens.
            browser.call(
                "Emulation.setDeviceMetricsOverride",
                session=True,
                width=width,
                height=height,
                deviceScaleFactor=1,
                mobile=width < 500,
            )
            browser.navigate(f"{demo_url}{path}?shop={DEMO_SHOP}")
            browser.wait_for(
                "document.querySelector('.p-nav') && document.readyState === 'complete'"
            )
            browser.screenshot(shot)
            return browser.evaluate(LAYOUT_PROBE)
        finally:
            browser.close()


LAYOUT_PROBE = """(() => {
  const right = (el) => el.getBoundingClientRect().right;
  const wrap = document.querySelector('.p-table-wrap');
  const lastHeader = document.querySelector('.p-table thead th:last-child');
  return {
    width: window.innerWidth,
    page_scrolls_sideways: document.documentElement.scrollWidth > window.innerWidth,
    nav_right: Math.max(...[...document.querySelectorAll('.p-nav > *')].map(right)),
    badge_right: right(document.querySelector('.p-nav .p-badge')),
    wrap_scrolls: wrap
      ? [wrap.scrollWidth > wrap.clientWidth, wrap.scrollHeight > wrap.clientHeight]
      : null,
    last_header_inside: wrap && lastHeader ? right(lastHeader) <= right(wrap) + 1 : null,
  };
})()"""


def test_the_customers_table_fits_1440_px_without_a_scrolling_box(demo_url, showcase, artifacts):
    layout = _layout(demo_url, "/customers", "1440,1000", artifacts / "customers-1440.png")
    assert layout["wrap_scrolls"] == [False, False]
    assert layout["last_header_inside"] is True
    assert layout["page_scrolls_sideways"] is False


@pytest.mark.parametrize("path", ["/customers", "/metrics", "/program"])
def test_at_390_px_every_page_link_and_the_demo_badge_are_in_view(
    demo_url, showcase, artifacts, path
):
    shot = artifacts / f"narrow{path.replace('/', '-')}.png"
    layout = _layout(demo_url, path, "390,900", shot)
    assert layout["nav_right"] <= layout["width"]
    assert layout["badge_right"] <= layout["width"]
    assert layout["page_scrolls_sideways"] is False


VISIBLE_UNITS = """[...document.querySelectorAll(
    '.p-input-affix:has(#field-referee_offer_value) span')]
  .filter((s) => !s.hidden).map((s) => s.textContent)"""


def test_program_units_follow_the_offer_type_and_changes_raise_the_save_bar(
    demo_url, showcase, artifacts
):
    with tempfile.TemporaryDirectory() as downloads:
        browser = Browser(Path(downloads), size="1280,1000")
        try:
            browser.navigate(f"{demo_url}/program?shop={DEMO_SHOP}")
            browser.wait_for("document.querySelector('#program-settings')")
            assert browser.evaluate(VISIBLE_UNITS) == ["%"]
            bar = "document.querySelector('[data-save-bar-for=program-settings]')"
            assert browser.evaluate(f"{bar}.hidden") is True

            browser.evaluate(
                "(() => { const s = document.querySelector('#field-referee_offer_type');"
                " s.value = 'fixed_amount';"
                " s.dispatchEvent(new Event('change', {bubbles: true})); })()"
            )
            assert browser.evaluate(VISIBLE_UNITS) == ["$"]
            browser.wait_for(f"!{bar}.hidden")
            browser.screenshot(artifacts / "program-save-bar.png")

            browser.click("[data-save-bar-discard]")
            browser.wait_for(f"{bar}.hidden")
            assert browser.evaluate(
                "document.querySelector('#field-referee_offer_type').value"
            ) == ("percentage")
            assert browser.evaluate(VISIBLE_UNITS) == ["%"]
            assert browser.console_errors() == []
        finally:
            browser.close()
