"""The import flow in headless Chromium: upload, preview, confirm, progress, rejected rows.

A demo-mode server (SQLite, as `bin/run` starts it) and a real RQ worker run as subprocesses;
the browser chooses the file in the form, confirms, watches the bar and downloads the CSV.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.csv_imports.cdp import Browser
from tests.demo_server import running_demo

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
ROWS = 40_000


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """A demo shop served by `flask run`, with a worker on its own queue."""
    env = {"REDIS_URL": REDIS_URL, "RQ_QUEUE": f"e2e-imports-{os.getpid()}"}
    with running_demo(tmp_path_factory.mktemp("import-browser"), env=env, worker=True) as demo:
        yield demo.base, demo.tmp


def _points_file(path: Path) -> tuple[int, int]:
    """Demo customers have Shopify ids 7000000000…; every 1,000th row is bad."""
    valid = bad = 0
    with open(path, "w", encoding="cp1252", newline="") as out:
        out.write("Shopify ID;Points;Description\r\n")
        for n in range(ROWS):
            if n % 1000 == 999:
                out.write(f"{7_000_000_000 + n % 300};lots;Café bonus\r\n")
                bad += 1
            else:
                out.write(f"{7_000_000_000 + n % 300};{1 + n % 5};Café bonus\r\n")
                valid += 1
    return valid, bad


@pytest.mark.browser
@pytest.mark.slow
def test_upload_preview_confirm_progress_and_download(demo, artifacts, tmp_path):
    base, _ = demo
    file = tmp_path / "loyalty-points.csv"
    valid, bad = _points_file(file)
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    browser = Browser(downloads)
    try:
        browser.navigate(f"{base}/imports?shop=demo-referrals.myshopify.com")
        browser.wait_for("document.querySelector('[data-import-form]')")
        assert "Download a sample CSV" in browser.evaluate("document.body.innerText")
        browser.screenshot(artifacts / "imports-1-upload.png")

        browser.set_file("#field-file", file)
        browser.evaluate("document.querySelector('[data-import-form]').requestSubmit()")
        # "Points" alone could be a balance exported by another app: the preview asks first.
        browser.wait_for("document.querySelector('[data-points-mode-form]')")
        assert "What does the column “Points” hold?" in browser.evaluate("document.body.innerText")
        assert browser.evaluate("document.querySelector('[data-confirm-form]')") is None
        browser.screenshot(artifacts / "imports-2a-points-or-balance.png")
        browser.evaluate(
            "document.querySelector('[data-points-mode-form] input[value=add]').checked = true;"
            "document.querySelector('[data-points-mode-form]').requestSubmit()"
        )
        browser.wait_for("document.querySelector('[data-confirm-form]')")
        text = browser.evaluate("document.body.innerText")
        assert f"{ROWS:,}" in text and f"{bad}\nrows are rejected" in text.replace(
            " rows", "\nrows"
        )
        assert "Café bonus" in browser.evaluate(
            "document.querySelector('[data-preview-rows]').innerText"
        )
        assert (
            browser.evaluate("document.querySelectorAll('[data-row-errors] tbody tr').length")
            == bad
        )
        browser.screenshot(artifacts / "imports-2-preview.png")

        browser.evaluate("document.querySelector('[data-confirm-form]').requestSubmit()")
        browser.wait_for("document.querySelector('[data-progress-url]')")
        browser.screenshot(artifacts / "imports-3-progress.png")
        seen: list[int] = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                value = browser.evaluate(
                    "(document.querySelector('[role=progressbar]') || {getAttribute: () => null})"
                    ".getAttribute('aria-valuenow')"
                )
                status = browser.evaluate(
                    "document.querySelector('[data-import-status]')?.dataset.importStatus"
                )
            except RuntimeError:
                continue  # navigating to the summary
            if value is not None:
                seen.append(int(value))
            if status == "done":
                break
            time.sleep(0.2)
        assert seen == sorted(seen) and seen[-1] <= 100
        browser.wait_for("document.querySelector('[data-import-summary]')")
        summary = browser.evaluate("document.querySelector('[data-import-summary]').innerText")
        assert f"{ROWS:,}" in summary and f"{valid:,}" in summary
        browser.screenshot(artifacts / "imports-4-summary.png")

        browser.evaluate("document.querySelector('[data-rejected-download]').click()")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not list(downloads.glob("*.csv")):
            time.sleep(0.1)
        (downloaded,) = downloads.glob("*.csv")
        lines = downloaded.read_text(encoding="utf-8-sig").splitlines()
        assert downloaded.name == "loyalty-points-rejected.csv"
        assert lines[0] == "Shopify ID,Points,Description,error"
        assert len(lines) == bad + 1
        assert lines[1] == "7000000099,lots,Café bonus,points_to_add is not a whole number"
        assert browser.console_errors() == []
    finally:
        browser.close()
