"""Loyalty fixtures: rules, balances and history; Shopify customers; rewards and signed visits."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from shopify_app.loyalty.catalogue import RewardChanges, add_reward
from shopify_app.loyalty.ledger import add_points
from shopify_app.platform.extensions import db
from shopify_app.platform.models import Customer, LoyaltyReward, PointBalance, PointsEntry, Shop
from shopify_app.platform.shopify.discounts import FIXED_AMOUNT, DiscountValue
from shopify_app.program.config import get_settings
from shopify_double import ShopifyDouble
from tests.factories import make_customer
from tests.referrals.conftest import Inbox, add_customer, serving

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


def set_rules(shop: Shop, **values: Any) -> None:
    """Turn rules on or off and set their values, as a saved Program page would."""
    settings = get_settings(shop)
    for name, value in values.items():
        setattr(settings, name, value)
    db.session.commit()


def balance(shop: Shop, shopify_customer_id: int) -> int:
    db.session.expire_all()
    return db.session.execute(
        select(PointBalance.balance)
        .join(Customer, Customer.id == PointBalance.customer_id)
        .where(Customer.shop_id == shop.id, Customer.shopify_id == shopify_customer_id)
    ).scalar_one()


def history(shop: Shop) -> list[tuple[str | None, int, str]]:
    """Every ledger row of the shop: (source key, points, description), oldest first."""
    db.session.expire_all()
    return [
        (r.source_key, r.delta, r.description)
        for r in db.session.execute(
            select(PointsEntry).where(PointsEntry.shop_id == shop.id).order_by(PointsEntry.id)
        ).scalars()
    ]


def shopify_customer(double: ShopifyDouble, shop: Shop, email: str, **fields: Any) -> Customer:
    """A Member in the double and the app with the same Shopify id (flushed, not committed)."""
    locale = fields.pop("locale", "en")
    record = double.add_customer(shop.domain, email=email, locale=locale)
    return make_customer(shop, shopify_id=record["id"], email=email, locale=locale, **fields)


@pytest.fixture
def inbox(app: Flask) -> Iterator[Inbox]:
    """A real SMTP server (aiosmtpd) the app's SMTP_URL points to for the test."""
    with serving(app) as handler:
        yield handler
