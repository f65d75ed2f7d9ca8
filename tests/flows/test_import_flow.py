"""A points import as the merchant clicks it: upload, the points-or-balance question, preview,
confirm, progress, result, the rejected rows downloaded, then revert through its modal.

The file is what Excel writes in much of Europe (Windows-1252, semicolons, CRLF) with a column
named only "Points", which another app's export could hold as balances: the preview asks."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from playwright.sync_api import expect
from sqlalchemy import text

from shopify_app.platform.extensions import db
from tests.csv_imports.importing import add_customers, balance, get_import
from tests.workers import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.slow]
ROWS = 150_000
CUSTOMERS = 300
FIRST_ID = 7_000_000_001
MODAL = "dialog.p-modal[open]"


def points_file(path) -> tuple[int, int, int]:
    """Rows cycle over the customers with 1 to 5 points; every 5,000th row is not a number."""
    valid = bad = points = 0
    with open(path, "w", encoding="cp1252", newline="") as out:
        out.write("Shopify ID;Points;Description\r\n")
        for n in range(ROWS):
            customer = FIRST_ID + n % CUSTOMERS
            if n % 5000 == 4999:
                out.write(f"{customer};lots;Café bonus\r\n")
                bad += 1
            else:
                out.write(f"{customer};{1 + n % 5};Café bonus\r\n")
                valid += 1
                points += 1 + n % 5
    return valid, bad, points


@contextmanager
def held_after_first_batch(import_id: int) -> Iterator[None]:
    """Hold the import between batches, so the bar is seen part-way whatever the machine's
    speed: once the first batch has committed, a transaction takes the import row (its row
    lock on PostgreSQL, the write lock on SQLite), and the worker's next batch waits for it."""
    wait_for(lambda: get_import(import_id).processed_rows > 0, timeout=120, interval=0.005)
    with db.engine.connect() as conn:
        conn.execute(
            text("UPDATE import_jobs SET cancel_requested = cancel_requested WHERE id = :id"),
            {"id": import_id},
        )
        yield
        conn.rollback()


def test_upload_preview_confirm_progress_result_and_revert(
    ctx, shop, workers, admin_browser, steps, tmp_path
):
    add_customers(shop, CUSTOMERS, balance=10)
    file = tmp_path / "spring-points.csv"
    valid, bad, points = points_file(file)
    shots = steps("import")
    page = admin_browser.open("/imports")

    expect(page.get_by_role("heading", name="Import a CSV")).to_be_visible()
    page.get_by_label("CSV file").set_input_files(file)
    shots.shot(page, "upload")

    page.get_by_role("button", name="Upload and preview").click()
    question = page.locator("[data-points-mode-form]")
    expect(page.get_by_text("What does the column “Points” hold?")).to_be_visible()
    expect(page.locator("[data-confirm-form]")).to_have_count(0)
    question.get_by_label("Points to add to each customer's current balance").check()
    shots.shot(page, "points-or-balance")
    question.get_by_role("button", name="Check the rows").click()
    confirm = page.locator("[data-confirm-form]")
    expect(confirm).to_be_visible()
    outcome = page.locator("[data-preview-outcome]")
    expect(outcome).to_contain_text(f"{CUSTOMERS} customers get points: {points:,} points in total")
    expect(page.locator("[data-preview-rows]")).to_contain_text("Café bonus")
    expect(page.locator("[data-row-errors] tbody tr")).to_have_count(bad)
    expect(page.locator("[data-row-errors]")).to_contain_text("lots")
    shots.shot(page, "preview")

    confirm.get_by_role("button", name=f"Confirm and import {valid:,} rows").click()
    bar = page.get_by_role("progressbar")
    expect(bar).to_have_attribute("aria-valuenow", "0")
    expect(page.locator("[data-import-status=queued]")).to_be_visible()
    expect(page.locator("[data-import-status-badge]")).to_have_text("Queued")
    shots.shot(page, "queued")

    # The job waits in the queue until a worker is up: the bar then fills as it reads.
    import_id = int(re.search(r"/imports/(\d+)", page.url)[1])
    workers.start()
    with held_after_first_batch(import_id):
        # 1 to 99: part-way, neither waiting nor done.
        expect(bar).to_have_attribute("aria-valuenow", re.compile(r"^[1-9][0-9]?$"))
        # The page header's badge follows the poll: a worker took the import.
        expect(page.locator("[data-import-status-badge]")).to_have_text("Importing")
        shots.shot(page, "progress")
    summary = page.locator("[data-import-summary]")
    expect(summary).to_be_visible(timeout=120_000)
    expect(summary).to_contain_text(f"Rows processed {ROWS:,}")
    expect(summary).to_contain_text(f"Applied {valid:,}")
    expect(summary).to_contain_text(f"Points added {points:,}")
    shots.shot(page, "result")
    assert get_import(import_id).status == "done"
    assert balance(shop, FIRST_ID) > 10

    with page.expect_download() as download:
        page.get_by_role("link", name="Download rejected rows (CSV)").click()
    lines = download.value.path().read_text(encoding="utf-8-sig").splitlines()
    assert download.value.suggested_filename == "spring-points-rejected.csv"
    assert lines[0] == "Shopify ID,Points,Description,error"
    assert len(lines) == bad + 1
    assert lines[1] == "7000000200,lots,Café bonus,points_to_add is not a whole number"

    page.get_by_role("link", name="Revert this import").click()
    modal = page.locator(MODAL)
    expect(modal).to_contain_text(f"Revert import #{import_id}?")
    expect(modal).to_contain_text(
        f"{valid:,} rows: {points:,} points are taken back from {CUSTOMERS} customers."
    )
    shots.shot(page, "revert-modal")

    modal.get_by_role("button", name="Revert import").click()
    expect(page.locator("[data-import-status=reverted]")).to_be_visible(timeout=120_000)
    expect(page.get_by_role("status").or_(page.locator(".p-banner"))).to_contain_text(
        f"{valid:,} rows were taken back"
    )
    shots.shot(page, "reverted")
    assert get_import(import_id).status == "reverted"
    assert balance(shop, FIRST_ID) == 10
    assert admin_browser.console_errors == []
