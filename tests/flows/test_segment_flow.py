"""A dynamic segment as the merchant builds it: each condition changes the live count while
they edit, a half-typed value says what to fix, and the saved segment lists those customers."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from shopify_app.platform.extensions import db
from shopify_app.platform.models import Customer, PointBalance
from tests.factories import make_customer, seed_showcase
from tests.helpers import make_shop

pytestmark = pytest.mark.browser


def members(shop, *, points_at_least: int | None = None) -> int:
    query = (
        select(func.count())
        .select_from(Customer)
        .where(Customer.shop_id == shop.id, Customer.is_member.is_(True))
    )
    if points_at_least is not None:
        query = query.join(PointBalance, PointBalance.customer_id == Customer.id).where(
            PointBalance.balance >= points_at_least
        )
    return db.session.execute(query).scalar_one()


def matches(count: int) -> str:
    return f"{count:,} customer matches" if count == 1 else f"{count:,} customers match"


def test_build_a_dynamic_segment_and_watch_the_live_count(
    ctx, shop, shopify_double, admin_browser, steps
):
    seed_showcase(shop)
    other = make_shop(shopify_double, "other-shop.myshopify.com")
    for n in range(5):
        make_customer(other, email=f"m{n}@other.example", state="ENABLED")
    db.session.commit()
    everyone, member_count = 60, members(shop)
    loyal = members(shop, points_at_least=300)
    assert everyone > member_count > loyal > 0
    shots = steps("segment")
    page = admin_browser.open("/segments")

    page.get_by_role("link", name="Create segment").first.click()  # the header action
    count = page.locator("[data-live-count]")
    expect(count).to_have_text(matches(everyone))  # no condition yet: everyone
    page.get_by_label("Segment name").fill("Loyal members")
    page.get_by_label("Condition 1").select_option(label="Shopify status")
    expect(page.get_by_label("Comparison")).to_have_value("members")
    expect(count).to_have_text(matches(member_count))  # another shop's members do not count
    shots.shot(page, "members")

    page.get_by_role("button", name="Add another condition").click()
    expect(page.get_by_label("Condition 2")).to_be_visible()
    expect(page.get_by_label("Segment name")).to_have_value("Loyal members")
    expect(count).to_have_text(matches(member_count))
    page.get_by_label("Condition 2").select_option(label="Points balance")
    row = page.locator("[data-rule-row]").nth(1)
    row.get_by_label("Comparison").select_option(label="is at least")
    row.get_by_label("Value").fill("lots")
    expect(count).to_have_text("Check the highlighted condition.")  # not a count
    # What to fix shows under the condition it is about, as a save would show it.
    expect(row.locator(".p-error")).to_contain_text("whole number")
    expect(row.get_by_label("Condition 2")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("[data-rule-row]").nth(0).locator(".p-error:visible")).to_have_count(0)
    shots.shot(page, "value-to-fix")

    row.get_by_label("Value").fill("300")
    expect(count).to_have_text(matches(loyal))
    expect(row.locator(".p-error:visible")).to_have_count(0)
    shots.shot(page, "members-with-300-points")

    page.get_by_role("button", name="Save segment").click()
    expect(page.get_by_role("heading", name=re.compile("Loyal members"))).to_be_visible()
    expect(page.locator("[data-bulk-table] tbody tr")).to_have_count(loyal)
    shots.shot(page, "segment")
    assert admin_browser.unexpected_errors() == []
