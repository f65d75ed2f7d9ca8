"""The people import in headless Chromium, on the demo: the sample file, its typed preview, the
"update existing customers" confirmation, and the attributes on a customer's page."""

from __future__ import annotations

import os
import re

import pytest

from tests.csv_imports.cdp import Browser
from tests.demo_server import running_demo

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
SHOP = "shop=demo-referrals.myshopify.com"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    env = {"REDIS_URL": REDIS_URL, "RQ_QUEUE": f"e2e-people-{os.getpid()}"}
    with running_demo(tmp_path_factory.mktemp("people-browser"), env=env, worker=True) as demo:
        yield demo.base, demo.tmp


@pytest.mark.browser
@pytest.mark.slow
def test_a_merchant_imports_people_and_sees_them_on_a_customer(demo, artifacts, tmp_path):
    base, tmp = demo
    sample = tmp / "imports" / "samples" / "sample-people.csv"
    email = sample.read_text(encoding="utf-8").splitlines()[1].split(",")[0]
    browser = Browser(tmp_path)
    try:
        browser.navigate(f"{base}/imports?{SHOP}")
        browser.wait_for("document.querySelector('[data-import-form]')")
        browser.evaluate("document.querySelector('input[name=kind][value=people]').click()")
        assert browser.evaluate("document.querySelector('[data-people-only]').hidden") is False
        browser.set_file("#field-file", sample)
        browser.screenshot(artifacts / "people-1-upload.png")
        browser.evaluate("document.querySelector('[data-import-form]').requestSubmit()")

        browser.wait_for("document.querySelector('[data-confirm-form]')")
        types = browser.evaluate("document.querySelector('[data-attribute-types]').innerText")
        assert "total_orders\tNumber" in types and "last_order_date\tDate" in types
        assert "newsletter\tYes/No" in types and "tier\tText" in types
        assert "5 existing customers are updated" in browser.evaluate("document.body.innerText")
        browser.screenshot(artifacts / "people-2-preview.png")

        # Without the tick, the server refuses and nothing changes.
        browser.evaluate("document.querySelector('[data-confirm-form]').requestSubmit()")
        browser.wait_for("document.body.innerText.includes('Tick “Update existing customers”')")
        browser.evaluate(
            "document.querySelector('[data-confirm-updates]').checked = true;"
            "document.querySelector('[data-confirm-form]').requestSubmit()"
        )
        browser.wait_for("document.querySelector('[data-import-summary]')", timeout=90)
        summary = browser.evaluate("document.querySelector('[data-import-summary]').innerText")
        assert "0 new · 5 updated · 0 unchanged" in summary
        browser.screenshot(artifacts / "people-3-summary.png")

        browser.navigate(f"{base}/customers?{SHOP}&q={email}")
        browser.wait_for("document.querySelector('a[href*=\"/customers/\"]')")
        href = browser.evaluate(
            "[...document.querySelectorAll('a[href*=\"/customers/\"]')]"
            ".map(a => a.getAttribute('href')).find(h => /\\/customers\\/\\d+/.test(h))"
        )
        customer_id = re.search(r"/customers/(\d+)", href)[1]
        browser.navigate(f"{base}/customers/{customer_id}?{SHOP}")
        browser.wait_for("document.querySelector('[data-attributes]')")
        shown = browser.evaluate("document.querySelector('[data-attributes]').innerText")
        assert "tier" in shown and "Gold" in shown and "Jan 15, 2026" in shown
        assert "No" in shown  # the first sample row's newsletter is "no"
        browser.screenshot(artifacts / "people-4-customer.png")
        assert browser.console_errors() == []
    finally:
        browser.close()
