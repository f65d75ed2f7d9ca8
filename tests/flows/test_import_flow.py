"""A points import as the merchant clicks it: upload, the points-or-balance question, preview,
confirm, progress, result, the rejected rows downloaded, then revert through its modal.

The file is what Excel writes in much of Europe (Windows-1252, semicolons, CRLF) with a column
named only "Points", which another app's export could hold as balances: the preview asks."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from tests.csv_imports.importing import add_customers, balance, get_import

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
    shots.shot(page, "queued")

    # The job waits in the queue until a worker is up: the bar then fills as it reads.
    workers.start()
    seen: list[int] = []
    moving = None
    while page.locator("[data-import-summary]").count() == 0 and len(seen) < 600:
        try:
            value = page.get_attribute("[role=progressbar]", "aria-valuenow", timeout=1000)
        except PlaywrightError:
            continue  # the page moves on to the result
        seen.append(int(value))
        if 0 < seen[-1] < 100 and not moving:
            expect(page.locator("[data-progress-status]")).to_have_text("Running")
            moving = shots.shot(page, "progress")
        page.wait_for_timeout(50)
    # The bar showed the import on its way, not only 0 then done (how many steps it shows
    # depends on the machine's speed against the once-a-second poll).
    assert any(0 < value < 100 for value in seen), seen
    assert moving is not None
    assert seen == sorted(seen) and seen[-1] <= 100
    summary = page.locator("[data-import-summary]")
    expect(summary).to_be_visible(timeout=120_000)
    expect(summary).to_contain_text(f"Rows processed {ROWS:,}")
    expect(summary).to_contain_text(f"Applied {valid:,}")
    expect(summary).to_contain_text(f"Points added {points:,}")
    shots.shot(page, "result")
    import_id = int(re.search(r"/imports/(\d+)", page.url)[1])
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
