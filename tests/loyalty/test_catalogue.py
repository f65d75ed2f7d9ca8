"""The rewards catalogue in the admin: add, edit, deactivate (asked first), validation."""

from __future__ import annotations

import html

import pytest
from sqlalchemy import select

from shopify_app.platform.extensions import db
from shopify_app.platform.models import LoyaltyReward
from tests.helpers import AdminClient, make_shop
from tests.loyalty.conftest import account, make_reward

GOOD = {"title": "$5 off", "points_cost": "500", "kind": "fixed_amount", "value": "5.00"}


def _rewards() -> list[LoyaltyReward]:
    db.session.expire_all()
    return list(db.session.scalars(select(LoyaltyReward).order_by(LoyaltyReward.id)))


def test_a_merchant_adds_a_reward_and_sees_it_listed(admin, shop):
    response = admin.post("/loyalty/rewards/new", {**GOOD, "min_order": "25.00"})
    assert response.status_code == 302
    [reward] = _rewards()
    assert (reward.title, reward.points_cost, reward.kind, reward.value) == (
        "$5 off",
        500,
        "fixed_amount",
        500,
    )
    assert reward.min_order_minor == 2500 and reward.active
    page = html.unescape(admin.get("/loyalty/rewards").get_data(as_text=True))
    assert "$5 off" in page and "$5.00 off" in page and "$25.00" in page and "Active" in page


def test_the_navigation_links_to_the_rewards(admin, shop):
    assert "/loyalty/rewards" in admin.get("/loyalty/rewards").get_data(as_text=True)


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("title", "", "Give the reward a name"),
        ("points_cost", "0", "whole number of points"),
        ("points_cost", "12.5", "whole number of points"),
        ("value", "5.001", "greater than 0 in USD"),
        ("value", "-1", "greater than 0 in USD"),
        ("kind", "free_beer", "percentage or a fixed amount"),
        ("min_order", "abc", "0 or more in USD"),
    ],
)
def test_bad_input_is_refused_field_by_field_and_kept(admin, shop, field, value, message):
    response = admin.post("/loyalty/rewards/new", {**GOOD, field: value})
    assert response.status_code == 400
    page = html.unescape(response.get_data(as_text=True))
    assert message in page and "The reward was not saved" in page
    assert _rewards() == []


def test_a_percentage_is_a_whole_number_up_to_100(admin, shop):
    bad = admin.post("/loyalty/rewards/new", {**GOOD, "kind": "percentage", "value": "150"})
    assert bad.status_code == 400
    admin.post("/loyalty/rewards/new", {**GOOD, "kind": "percentage", "value": "15"})
    [reward] = _rewards()
    assert (reward.kind, reward.value) == ("percentage", 15)


def test_amounts_follow_the_shop_currency_decimals(ctx, shopify_double, client):
    yen = make_shop(shopify_double, "yen-shop.myshopify.com", currency="JPY")
    yen.currency = "JPY"
    db.session.commit()
    admin = AdminClient(client, yen.domain, shopify_double)
    assert admin.post("/loyalty/rewards/new", {**GOOD, "value": "5.50"}).status_code == 400
    assert admin.post("/loyalty/rewards/new", {**GOOD, "value": "500"}).status_code == 302
    assert _rewards()[0].value == 500


def test_editing_changes_the_terms(admin, shop):
    reward = make_reward(shop, "$5 off", 500)
    form = admin.get(f"/loyalty/rewards/{reward.id}").get_data(as_text=True)
    assert 'value="5.00"' in form and 'value="500"' in form
    response = admin.post(f"/loyalty/rewards/{reward.id}", {**GOOD, "points_cost": "450"})
    assert response.status_code == 302
    assert _rewards()[0].points_cost == 450


def test_deactivating_asks_first_then_hides_it_from_shoppers(
    admin, client, shopify_double, shop, member
):
    reward = make_reward(shop, "$5 off", 500)
    ask = admin.get(f"/loyalty/rewards/{reward.id}/deactivate")
    assert ask.status_code == 200 and "Deactivate this reward?" in ask.get_data(as_text=True)
    assert _rewards()[0].active  # asking changes nothing

    admin.post(f"/loyalty/rewards/{reward.id}/deactivate")
    assert not _rewards()[0].active
    assert "$5 off" not in account(client, shopify_double, shop, member).get_data(as_text=True)

    admin.post(f"/loyalty/rewards/{reward.id}/activate")
    assert _rewards()[0].active


def test_another_shops_reward_is_not_found(admin, shop, shopify_double):
    other = make_shop(shopify_double, "other-shop.myshopify.com")
    theirs = make_reward(other, "Theirs", 100)
    assert admin.get(f"/loyalty/rewards/{theirs.id}").status_code == 404
    assert admin.post(f"/loyalty/rewards/{theirs.id}/deactivate").status_code == 404
    assert _rewards()[0].active
