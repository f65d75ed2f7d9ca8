"""The rewards catalogue: what N points buy (an amount or a percentage off, maybe a minimum).

A reward is never deleted: redemptions point at it, and a shopper's history names it. The
merchant deactivates it instead, and it leaves the shopper's page; what was bought keeps its
own copy of the terms (`Redemption.title`, `value`, …).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from shopify_app.platform.extensions import db
from shopify_app.platform.models import LoyaltyReward, Shop
from shopify_app.platform.money import format_money
from shopify_app.platform.shopify.discounts import PERCENTAGE, DiscountValue


@dataclass(frozen=True)
class RewardChanges:
    """A validated catalogue entry in stored units (the form gives it)."""

    title: str
    points_cost: int
    value: DiscountValue
    min_order_minor: int


def rewards_of(shop: Shop, *, active_only: bool = False) -> list[LoyaltyReward]:
    """The shop's rewards, cheapest first (the index on shop and cost serves the order)."""
    query = select(LoyaltyReward).where(LoyaltyReward.shop_id == shop.id)
    if active_only:
        query = query.where(LoyaltyReward.active.is_(True))
    return list(
        db.session.scalars(query.order_by(LoyaltyReward.points_cost, LoyaltyReward.id)).all()
    )


def add_reward(shop: Shop, changes: RewardChanges) -> LoyaltyReward:
    """A new active reward; never commits."""
    reward = LoyaltyReward(shop_id=shop.id, active=True)
    update_reward(shop, reward, changes)
    db.session.add(reward)
    db.session.flush()
    return reward


def update_reward(shop: Shop, reward: LoyaltyReward, changes: RewardChanges) -> LoyaltyReward:
    """Change the terms; codes bought earlier keep theirs. Never commits."""
    if reward.shop_id != shop.id:
        raise ValueError("reward belongs to another shop")
    reward.title = changes.title
    reward.points_cost = changes.points_cost
    reward.kind, reward.value = changes.value.kind, changes.value.value
    reward.min_order_minor = changes.min_order_minor
    return reward


def set_reward_active(shop: Shop, reward: LoyaltyReward, active: bool) -> LoyaltyReward:
    """Take a reward off the shopper's page (or put it back); never commits."""
    if reward.shop_id != shop.id:
        raise ValueError("reward belongs to another shop")
    reward.active = active
    return reward


def describe_value(kind: str, value: int, currency: str, locale: str | None) -> str:
    """What a reward takes off, as the shopper reads it: "10% off", "$5.00 off"."""
    if kind == PERCENTAGE:
        return f"{value}% off"
    return f"{format_money(value, currency, locale)} off"
