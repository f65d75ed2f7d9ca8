"""The shopper's rewards page on the storefront, through the app proxy: balance, rewards they
can afford, Redeem, and the one-time code Shopify created for them shown on the page."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.helpers import make_shop
from tests.loyalty.conftest import give_points, make_reward
from tests.referrals.conftest import add_customer

pytestmark = pytest.mark.browser


def test_account_page_redeem_shows_the_code(ctx, shop, shopify_double, storefront, steps):
    mia = add_customer(shopify_double, shop, email="mia@example.com", first_name="Mia")
    give_points(shop, mia, 1000, description="Welcome gift")
    make_reward(shop, "$5 off", 400, value=500)
    make_reward(shop, "$50 off", 5000, value=5000)
    store = storefront(mia.shopify_id)
    shots = steps("account")
    page = store.open("/account")

    expect(page.get_by_role("heading", name="Your rewards, Mia")).to_be_visible()
    expect(page.locator("[data-loyalty-balance]")).to_have_text("1,000")
    expect(page.locator("[data-loyalty-history]")).to_contain_text("Welcome gift")
    expect(page.locator("[data-loyalty-locked]")).to_contain_text("4,000 more to go")
    expect(page.get_by_role("button", name="Redeem for 5,000 points")).to_have_count(0)
    shots.shot(page, "account")

    page.get_by_role("button", name="Redeem for 400 points").click()
    code = page.locator("[data-loyalty-new-code]")
    expect(code).to_be_visible()
    expect(page.locator("[data-loyalty-balance]")).to_have_text("600")
    shown = code.inner_text().strip()
    assert [c["code"] for c in shopify_double.discount_codes(shop.domain)] == [shown]
    expect(page.locator("[data-loyalty-code]")).to_contain_text(shown)
    expect(page.locator("[data-loyalty-history]")).to_contain_text("-400")
    shots.shot(page, "code")

    page.reload()  # a reload of the page it landed on spends nothing again
    expect(page.locator("[data-loyalty-balance]")).to_have_text("600")
    assert len(shopify_double.discount_codes(shop.domain)) == 1


def test_another_shops_shopper_sees_no_rewards_of_this_shop(
    ctx, shop, shopify_double, storefront, steps
):
    other = make_shop(shopify_double, "other-shop.myshopify.com")
    theirs = add_customer(shopify_double, other, email="ola@example.com", first_name="Ola")
    give_points(other, theirs, 700, description="Their welcome")
    make_reward(shop, "$5 off", 400, value=500)
    page = storefront(theirs.shopify_id).open("/account")  # on this shop's storefront

    expect(page.get_by_text("We're still setting up your rewards account.")).to_be_visible()
    expect(page.locator("[data-loyalty-balance]")).to_have_count(0)
    expect(page.get_by_role("button", name="Redeem for 400 points")).to_have_count(0)
    assert "Their welcome" not in page.content()
    steps("account-other-shop").shot(page, "unknown-shopper")
