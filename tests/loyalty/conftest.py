"""Fixtures for redeeming and the shopper's page: members with points, rewards, signed visits."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient

from shopify_app.loyalty.catalogue import RewardChanges, add_reward
from shopify_app.loyalty.ledger import add_points
from shopify_app.platform.extensions import db
from shopify_app.platform.models import Customer, LoyaltyReward, Shop
from shopify_app.platform.shopify.discounts import FIXED_AMOUNT, DiscountValue
from shopify_double import ShopifyDouble
from tests.referrals.conftest import add_customer

REQUEST_ID = re.compile(r'name="request_id" value="([^"]+)"')


def give_points(shop: Shop, customer: Customer, points: int, description: str = "Welcome") -> None:
    add_points(shop, customer, points, description=description, source="manual")
    db.session.commit()


def make_reward(
    shop: Shop,
    title: str = "$5 off",
    cost: int = 500,
    *,
    kind: str = FIXED_AMOUNT,
    value: int = 500,
    min_order_minor: int = 0,
) -> LoyaltyReward:
    changes = RewardChanges(title, cost, DiscountValue(kind, value), min_order_minor)
    reward = add_reward(shop, changes)
    db.session.commit()
    return reward


@pytest.fixture
def member(shop, shopify_double) -> Customer:
    """A signed-up Shopify customer with 1,000 points."""
    customer = add_customer(shopify_double, shop, email="mia@example.com", first_name="Mia")
    give_points(shop, customer, 1000)
    return customer


def account(
    client: FlaskClient,
    double: ShopifyDouble,
    shop: Shop,
    customer: Customer | None,
    **params: Any,
):
    """The storefront's /apps/referrals/account as Shopify forwards it: signed, maybe signed in."""
    query = double.proxy_query(
        shop.domain,
        params=params,
        logged_in_customer_id=customer.shopify_id if customer else "",
    )
    return client.get("/proxy/account", query_string=query)


def request_id_of(page: str) -> str:
    match = REQUEST_ID.search(page)
    assert match, "the page has no request id"
    return match.group(1)


def post_redeem(
    client: FlaskClient,
    double: ShopifyDouble,
    shop: Shop,
    customer: Customer,
    reward_id: int,
    request_id: str,
):
    """The page's Redeem form, posted through the app proxy (Shopify signs the query)."""
    query = double.proxy_query(shop.domain, logged_in_customer_id=customer.shopify_id)
    return client.post(
        "/proxy/account/redeem",
        query_string=query,
        data={"reward_id": str(reward_id), "request_id": request_id},
    )


def redeem_from_page(
    client: FlaskClient, double: ShopifyDouble, shop: Shop, customer: Customer, reward_id: int
):
    """Open the page, then press Redeem on the reward; returns (response, request id)."""
    page = account(client, double, shop, customer).get_data(as_text=True)
    request_id = request_id_of(page)
    return post_redeem(client, double, shop, customer, reward_id, request_id), request_id
