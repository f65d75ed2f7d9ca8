"""Customer detail: info and referral cards, and the activity with statuses and balances."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from shopify_app.customers.detail import POINTS_PAGE
from shopify_app.platform.extensions import db
from tests.factories import (
    T0,
    make_customer,
    make_order,
    make_points,
    make_referral,
    make_reward,
)
from tests.helpers import AdminClient, make_shop


def test_detail_shows_cards_and_activity(admin, shop):
    ada = make_customer(
        shop,
        first_name="Ada",
        last_name="Lovelace",
        joined_at=T0,
        referral_code="ADA7Q2K",
        total_referees=2,
        successful_referrals=1,
        referee_revenue_minor=12_000,
        referrer_revenue_minor=4_550,
    )
    grace = make_customer(shop, first_name="Grace", last_name="Hopper", state="DISABLED")
    alan = make_customer(shop, first_name="Alan", last_name="Turing")
    done = make_referral(
        shop, ada, grace, status="completed", completed_at=T0, order_total_minor=12_000
    )
    make_referral(shop, ada, alan, status="pending", created_at=T0 + timedelta(days=1))
    make_referral(
        shop, ada, ada, status="blocked", block_reason="Self-referral: the referee is the referrer"
    )
    order = make_order_for(shop, ada, 4_550)
    make_reward(shop, ada, referral=done, used_order=order)
    make_reward(shop, ada, value=1500)
    make_points(shop, ada, (500, "Spring import", "import"), (-120, "Redeemed", "manual"))
    db.session.commit()

    response = admin.get(f"/customers/{ada.id}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    admin_link = f"https://admin.shopify.com/store/test-shop/customers/{ada.shopify_id}"
    assert re.search(rf'href="{re.escape(admin_link)}" target="_top"', html)
    assert "https://test-shop.myshopify.com/apps/referrals/r/ADA7Q2K" in html
    assert 'data-copy="referral-link"' in html
    assert "Joined" in html and "Mar 1, 2026" in html and "Member" in html
    assert "$165.50" in html  # referral revenue = referrer 45.50 + referee 120.00
    assert "Completed" in html and "Pending" in html and "Blocked" in html
    assert "Self-referral: the referee is the referrer" in html
    assert "$120.00" in html and "Grace Hopper" in html
    assert "Used" in html and "Unused" in html and "THANKS-" in html and "$15.00" in html
    assert "Spring import" in html and "+500" in html and "-120" in html
    assert re.search(r">\s*380\s*<", html) and re.search(r">\s*500\s*<", html)


def make_order_for(shop, customer, total):

    return make_order(shop, customer, total, paid_at=T0 + timedelta(days=2))


def test_points_history_pages_to_older_entries(admin, shop):
    ada = make_customer(shop)
    make_points(shop, ada, *[(1, f"Entry {n}", "import") for n in range(POINTS_PAGE + 5)])
    db.session.commit()
    html = admin.get(f"/customers/{ada.id}").get_data(as_text=True)
    assert f"Entry {POINTS_PAGE + 4}<" in html and "Entry 4<" not in html
    before = re.search(r"points_before=(\d+)", html)[1]
    older = admin.get(f"/customers/{ada.id}", query_string={"points_before": before})
    text = older.get_data(as_text=True)
    assert "Entry 4<" in text and "Entry 0<" in text and f"Entry {POINTS_PAGE}<" not in text


def test_contact_without_shopify_id_has_no_admin_link(admin, shop):
    contact = make_customer(shop, shopify_id=None, state="DISABLED")
    db.session.commit()
    html = admin.get(f"/customers/{contact.id}").get_data(as_text=True)
    assert "View in Shopify" not in html and "not linked to a Shopify customer" in html
    assert "Guest" in html and "Not joined" in html


def test_another_shops_customer_is_not_found(admin, shop, shopify_double):
    other = make_shop(shopify_double, "other-shop.myshopify.com")
    theirs = make_customer(other, first_name="Secret")
    db.session.commit()
    response = admin.get(f"/customers/{theirs.id}")
    assert response.status_code == 404
    assert "Secret" not in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("currency", "referral", "referrer", "reward"),
    [
        # KWD has three decimals: 1234 minor units are 1.234 KWD, not 12.34.
        ("KWD", "KWD\u00a01.734", "KWD\u00a01.234", "KWD\u00a01.500"),
        # KRW has none: 1234 minor units are ₩1,234.
        ("KRW", "₩1,734", "₩1,234", "₩1,500"),
    ],
)
def test_detail_shows_amounts_with_the_shop_currencys_own_decimals(
    client, ctx, shopify_double, currency, referral, referrer, reward
):
    shop = make_shop(shopify_double, f"{currency.lower()}-shop.myshopify.com")
    shop.currency = currency
    ada = make_customer(shop, referrer_revenue_minor=1234, referee_revenue_minor=500)
    make_reward(shop, ada, value=1500)
    db.session.commit()

    html = AdminClient(client, shop.domain, shopify_double).get(f"/customers/{ada.id}").text
    assert referral in html and referrer in html and reward in html
    assert "17.34" not in html and "12.34" not in html
