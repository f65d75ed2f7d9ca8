"""Demo loyalty: a small rewards catalogue and a shopper with a points history to show.

Written through the same services the app uses (`add_reward`, `add_points` with source keys),
so seeding twice changes nothing.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from shopify_app.loyalty.catalogue import RewardChanges, add_reward, rewards_of
from shopify_app.loyalty.ledger import add_points
from shopify_app.platform.extensions import db
from shopify_app.platform.models import Customer, Shop
from shopify_app.platform.models.base import utcnow
from shopify_app.platform.shopify.discounts import FIXED_AMOUNT, PERCENTAGE, DiscountValue

REWARDS = [
    RewardChanges("$5 off your next order", 500, DiscountValue(FIXED_AMOUNT, 500), 0),
    RewardChanges("10% off orders over $50", 900, DiscountValue(PERCENTAGE, 10), 5000),
    RewardChanges("$25 off", 2500, DiscountValue(FIXED_AMOUNT, 2500), 0),
]
HISTORY = [
    (120, 300, "Welcome to our rewards"),
    (95, 180, "Order #1012"),
    (60, 240, "Order #1034"),
    (40, 150, "Your friend Sam placed their first order"),
    (12, 330, "Order #1087"),
]


def demo_shopper(shop: Shop) -> Customer | None:
    """The shopper the demo shows: the first joined member with a Shopify id."""
    return db.session.scalars(
        select(Customer)
        .where(Customer.shop_id == shop.id, Customer.shopify_id.is_not(None))
        .where(Customer.is_member.is_(True), Customer.joined_at.is_not(None))
        .order_by(Customer.id)
        .limit(1)
    ).first()


def seed_demo_loyalty(shop: Shop) -> str:
    """Rewards (once) and the demo shopper's history (each row once, by its source key)."""
    if not rewards_of(shop):
        for changes in REWARDS:
            add_reward(shop, changes)
    shopper = demo_shopper(shop)
    if shopper is None:
        return "demo loyalty: rewards only (no joined member to give points)"
    now = utcnow()
    for n, (days_ago, points, description) in enumerate(HISTORY):
        add_points(
            shop,
            shopper,
            points,
            description=description,
            source="manual",
            source_key=f"demo:loyalty:{n}",
            when=now - timedelta(days=days_ago),
        )
    points = shopper.points_balance
    return f"demo loyalty: {len(REWARDS)} rewards; {shopper.display_name} has {points:,} points"
