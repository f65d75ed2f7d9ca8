"""Ask first, in headless Chromium: Revert, Cancel import and Enrol members open a Polaris
modal with the confirm page's counts; Cancel and Escape change nothing, Confirm acts.

The DEMO_MODE server of test_pages_browser serves the test database; the revert job runs in
a real RQ worker in the test's process. Screenshots go to the artifacts folder.
"""

from __future__ import annotations

import io
import json
import time

import pytest
from sqlalchemy import update

from demo.shop import ensure_demo_shop
from shopify_app.imports.decisions import confirm_import
from shopify_app.imports.preview import create_import
from shopify_app.imports.runs import queue_import
from shopify_app.platform.auth.demo_tokens import DEMO_SHOP, mint_demo_token
from shopify_app.platform.extensions import db
from shopify_app.platform.models import ImportJob, Segment, SegmentMember
from tests.admin import test_pages_browser
from tests.csv_imports.cdp import Browser
from tests.csv_imports.importing import add_customers, balance, csv_bytes, get_import, ledger
from tests.helpers import run_jobs
from tests.referrals.test_invitations import contact

pytestmark = [pytest.mark.browser, pytest.mark.slow]
A, B = 7_000_000_001, 7_000_000_002
#: the DEMO_MODE server over the test database, shared with the page checks.
demo_url = test_pages_browser.demo_url
MODAL = "document.querySelector('dialog.p-modal[open]')"


def finished_import(app, shop) -> int:
    add_customers(shop, 2, balance=10)
    rows = [["shopify_id", "points_to_add", "description"], [A, 30, "a"], [B, 5, "b"], [A, 15, "c"]]
    job = create_import(shop, "points", "spring.csv", io.BytesIO(csv_bytes(rows)))
    confirm_import(shop, job, apply_with_errors=True)
    db.session.commit()
    queue_import(job.id, job.attempts)
    run_jobs(app)
    assert get_import(job.id).status == "done"
    return job.id


@pytest.fixture
def browser(tmp_path):
    browser = Browser(tmp_path, size="1280,900")
    yield browser
    browser.close()


def shot(browser: Browser, path) -> None:
    """A screenshot once the modal's opening animation has played."""
    browser.wait_for("document.getAnimations().every(a => a.playState === 'finished')")
    browser.screenshot(path)


def modal_text(browser: Browser) -> str:
    return " ".join(browser.evaluate(f"{MODAL}.innerText").split())


def focus_in_modal(browser: Browser) -> bool:
    return browser.evaluate(f"{MODAL}.contains(document.activeElement)")


def test_revert_opens_a_modal_cancel_changes_nothing_confirm_reverts(
    app,
    ctx,
    demo_url,
    browser,
    artifacts,
):
    shop = ensure_demo_shop()
    db.session.commit()
    import_id = finished_import(app, shop)
    page = f"{demo_url}/imports/{import_id}?shop={DEMO_SHOP}"
    browser.navigate(page)
    browser.wait_for("document.querySelector('a[data-confirm]')")

    browser.click("a[data-confirm]")
    browser.wait_for(MODAL)
    text = modal_text(browser)
    assert f"Revert import #{import_id}?" in text
    assert "3 rows: 50 points are taken back from 2 customers." in text
    assert browser.evaluate(f"{MODAL}.querySelector('[type=submit]').className") == (
        "p-button p-button--critical"
    )
    # Focus starts on Cancel and Tab, either way, never leaves the modal.
    assert browser.evaluate("document.activeElement.textContent") == "Cancel"
    for shift in (False, False, False, False, True, True, True, True, True):
        browser.press("Tab", shift=shift)
        assert focus_in_modal(browser)
    assert f"/imports/{import_id}?" in browser.evaluate("location.href")  # no navigation
    shot(browser, artifacts / "ask-first-revert-modal.png")

    browser.press("Escape")
    browser.wait_for(f"!{MODAL}")
    browser.click("a[data-confirm]")
    browser.wait_for(MODAL)
    browser.click("dialog.p-modal[open] .p-modal__footer a[data-modal-close]")  # Cancel
    browser.wait_for(f"!{MODAL}")
    assert browser.evaluate("document.activeElement.textContent") == "Revert this import"
    assert get_import(import_id).status == "done"
    assert ledger(import_id, source="import_revert") == []
    assert [balance(shop, A), balance(shop, B)] == [55, 15]

    browser.click("a[data-confirm]")
    browser.wait_for(MODAL)
    browser.click("dialog.p-modal[open] button[type=submit]")  # Revert import
    browser.wait_for("document.querySelector('[data-import-status=reverting]')")
    run_jobs(app)
    assert get_import(import_id).status == "reverted"
    assert [balance(shop, A), balance(shop, B)] == [10, 10]
    browser.wait_for("document.querySelector('[data-import-status=reverted]')")
    assert browser.console_errors() == []


def test_a_modal_left_open_past_its_session_token_still_confirms(app, ctx, demo_url, browser):
    """App Bridge tokens live a minute; the modal's form must post a fresh one."""
    shop = ensure_demo_shop()
    db.session.commit()
    import_id = finished_import(app, shop)
    short, fresh = mint_demo_token(ttl=1), mint_demo_token()
    # A stand-in for App Bridge, which answers over postMessage (so, a task later): the first
    # token it mints, for the modal's fetch, expires while the modal is open.
    browser.call(
        "Page.addScriptToEvaluateOnNewDocument",
        session=True,
        source=f"const tokens = {json.dumps([short, fresh])};"
        "window.shopify = {idToken: () => new Promise(done => setTimeout(() =>"
        " done(tokens.length > 1 ? tokens.shift() : tokens[0]), 10))};",
    )
    browser.navigate(f"{demo_url}/imports/{import_id}?shop={DEMO_SHOP}&id_token={fresh}")
    browser.wait_for("document.querySelector('a[data-confirm]')")
    browser.click("a[data-confirm]")
    browser.wait_for(MODAL)
    time.sleep(7)  # past the token's expiry and the 5 s leeway
    browser.click("dialog.p-modal[open] button[type=submit]")
    browser.wait_for("document.querySelector('[data-import-status=reverting]')", timeout=15)
    assert get_import(import_id).status == "reverting"


def test_without_javascript_the_revert_link_leads_to_the_confirm_page(
    app,
    ctx,
    demo_url,
    browser,
    artifacts,
):
    shop = ensure_demo_shop()
    db.session.commit()
    import_id = finished_import(app, shop)
    browser.call("Emulation.setScriptExecutionDisabled", session=True, value=True)
    browser.navigate(f"{demo_url}/imports/{import_id}?shop={DEMO_SHOP}")
    browser.click("a[data-confirm]")
    browser.wait_for("document.querySelector('.p-modal--page')")
    assert f"/imports/{import_id}/revert?" in browser.evaluate("location.href")
    text = " ".join(browser.evaluate("document.querySelector('.p-modal--page').innerText").split())
    assert "3 rows: 50 points are taken back from 2 customers." in text
    shot(browser, artifacts / "ask-first-revert-page-nojs.png")
    assert get_import(import_id).status == "done"

    browser.click(".p-modal--page button[type=submit]")
    browser.wait_for("document.querySelector('[data-import-status=reverting]')")
    assert get_import(import_id).status == "reverting"


def test_cancel_import_opens_a_modal_with_what_stays_applied(
    app,
    ctx,
    demo_url,
    browser,
    artifacts,
):
    shop = ensure_demo_shop()
    add_customers(shop, 1)
    job = create_import(
        shop,
        "points",
        "big.csv",
        io.BytesIO(csv_bytes([["shopify_id", "points_to_add"]] + [[A, 1]] * 100)),
    )
    confirm_import(shop, job, apply_with_errors=True)
    db.session.execute(
        update(ImportJob)
        .where(ImportJob.id == job.id)
        .values(status="running", processed_rows=40, applied_rows=40, last_row_number=41)
    )
    db.session.commit()
    browser.navigate(f"{demo_url}/imports/{job.id}?shop={DEMO_SHOP}")
    browser.wait_for("document.querySelector('a[data-confirm]')")
    browser.click("a[data-confirm]")
    browser.wait_for(MODAL)
    text = modal_text(browser)
    assert "Stop importing?" in text
    assert "40 of 100 rows are already applied and stay applied; the rest are not imported." in text
    shot(browser, artifacts / "ask-first-cancel-modal.png")
    browser.click("dialog.p-modal[open] .p-modal__footer a[data-modal-close]")  # Keep importing
    browser.wait_for(f"!{MODAL}")
    assert get_import(job.id).cancel_requested is False
    assert browser.console_errors() == []


def test_enrol_members_opens_a_modal_with_who_joins_and_who_is_emailed(
    app,
    ctx,
    demo_url,
    browser,
    artifacts,
):
    shop = ensure_demo_shop()
    db.session.commit()
    people = [contact(shop, f"vip{n}@example.com", first_name=f"V{n}") for n in range(3)]
    people.append(contact(shop, None, first_name="Nemo"))
    segment = Segment(shop_id=shop.id, name="VIP")
    db.session.add(segment)
    db.session.flush()
    for person in people:
        db.session.add(SegmentMember(segment_id=segment.id, customer_id=person.id, shop_id=shop.id))
    db.session.commit()

    browser.navigate(f"{demo_url}/program?shop={DEMO_SHOP}")
    browser.wait_for("document.querySelector('form[data-confirm]')")
    assert browser.evaluate("document.querySelector('#field-send_invitations').checked") is False
    browser.evaluate(
        f"document.querySelector('#field-segment_id').value = '{segment.id}';"
        "document.querySelector('#field-send_invitations').checked = true"
    )
    browser.click("form[data-confirm] button[type=submit]")
    browser.wait_for(MODAL)
    text = modal_text(browser)
    assert "Enrol the 4 members of VIP?" in text
    assert (
        "4 join the program and get a referral link, and 3 are emailed an invitation now." in text
    )
    assert "No email address: 1" in text
    shot(browser, artifacts / "ask-first-enrol-modal.png")
    browser.press("Escape")
    browser.wait_for(f"!{MODAL}")
    db.session.expire_all()
    assert all(db.session.get(type(p), p.id).joined_at is None for p in people)
    assert browser.console_errors() == []
