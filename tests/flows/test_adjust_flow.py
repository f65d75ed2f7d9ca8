"""Customer detail as the merchant uses it: from the table to a customer, an adjustment that
lacks its note or spends too much is refused with the form kept, a noted one shows in history."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from shopify_app.platform.extensions import db
from tests.csv_imports.importing import balance
from tests.factories import seed_showcase

pytestmark = pytest.mark.browser


def test_customer_detail_adjust_points_with_a_required_note(ctx, shop, admin_browser, steps):
    best = seed_showcase(shop)
    db.session.commit()
    before = balance(shop, best.shopify_id)
    shots = steps("adjust")
    page = admin_browser.open("/customers")

    page.get_by_label("Search customers").fill("lovelace")  # the table follows the typing
    expect(page).to_have_url(re.compile(r"[?&]q=lovelace"))
    expect(page.locator("[data-bulk-table] tbody tr")).to_have_count(8)
    shots.shot(page, "search")
    page.get_by_role("link", name="Ada Lovelace", exact=True).click()
    expect(page.get_by_role("heading", name="Ada Lovelace")).to_be_visible()
    admin_link = page.get_by_role("link", name="View in Shopify")
    expect(admin_link).to_have_attribute("target", "_top")
    expect(admin_link).to_have_attribute(
        "href", re.compile(r"^https://admin\.shopify\.com/store/test-shop/customers/\d+$")
    )
    expect(page.locator("#referral-link")).to_contain_text("/apps/referrals/r/REF0000")
    expect(page.locator("#points")).to_contain_text("Spring import")
    shots.shot(page, "detail")

    card = page.locator("form", has=page.get_by_role("button", name="Save adjustment"))
    card.get_by_label("Points").fill("25")
    card.get_by_role("button", name="Save adjustment").click()
    note = page.get_by_label("Note")
    expect(note).to_have_attribute("aria-invalid", "true")
    expect(page.locator(".p-field--error")).to_contain_text("note")
    expect(page.get_by_label("Points")).to_have_value("25")  # the form kept what was typed
    shots.shot(page, "note-required")
    assert balance(shop, best.shopify_id) == before

    page.get_by_label("Change").select_option("remove")
    page.get_by_label("Points").fill(str(before + 1))
    note.fill("Damaged parcel")
    page.get_by_role("button", name="Save adjustment").click()
    expect(page.locator(".p-field--error")).to_contain_text(f"{before:,}")
    shots.shot(page, "too-many-points")
    assert balance(shop, best.shopify_id) == before

    page.get_by_label("Change").select_option("add")
    page.get_by_label("Points").fill("25")
    page.get_by_label("Note").fill("Sorry for the late parcel")
    page.get_by_role("button", name="Save adjustment").click()
    expect(page.get_by_text(f"+25 points recorded. Balance: {before + 25:,}.")).to_be_visible()
    latest = page.locator("#points tbody tr").first
    expect(latest).to_contain_text("Sorry for the late parcel")
    expect(latest).to_contain_text("+25")
    expect(latest).to_contain_text(f"{before + 25:,}")
    shots.shot(page, "history")
    assert balance(shop, best.shopify_id) == before + 25
    assert admin_browser.unexpected_errors() == []
    assert len(admin_browser.console_errors) == 2  # the two refused adjustments
