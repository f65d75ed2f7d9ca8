"""A cancelled or fully refunded order takes back what it counted, once.

Runs inside the webhook delivery's transaction and is idempotent: only Completed referrals
and rewards with revenue are touched, and each is changed so it no longer matches.
"""

from __future__ import annotations

from sqlalchemy import select

from shopify_app.loyalty.earning import reverse_referral_points
from shopify_app.platform.extensions import db
from shopify_app.platform.models import Order, Referral, Reward, Shop
from shopify_app.platform.models.referral import BLOCKED, COMPLETED, PENDING, UNUSED, USED, VOID
from shopify_app.referrals.blocking import REVERSED_AFTER_REWARD
from shopify_app.referrals.rewards import queue_reward_sync
from shopify_app.referrals.stats import bump


def on_order_reversed(shop: Shop, order: Order) -> None:
    """A cancelled or fully refunded order: reverse what it counted, once.

    The referee's order: the referral goes back to Pending and its unused reward is voided
    (deactivated in Shopify); if the reward was already used it cannot be taken back, so the
    referral is Blocked with that reason. Either way the loyalty points the referral gave
    both sides are taken back. An order paid with a reward code: its revenue leaves the
    referrer's revenue.
    """
    referrals = (
        db.session.execute(
            select(Referral)
            .where(
                Referral.shop_id == shop.id,
                Referral.order_id == order.id,
                Referral.status == COMPLETED,
            )
            .with_for_update()
        )
        .scalars()
        .all()
    )
    reverse_referral_points(shop, referrals, order.id)
    for referral in referrals:
        total = referral.order_total_minor or 0
        bump(referral.referrer_id, successful_referrals=-1, referee_revenue_minor=-total)
        reward = db.session.execute(
            select(Reward)
            .where(Reward.shop_id == shop.id, Reward.referral_id == referral.id)
            .with_for_update()
        ).scalar_one_or_none()
        if reward is not None and reward.status == USED:
            referral.status, referral.block_reason = BLOCKED, REVERSED_AFTER_REWARD
            bump(referral.referrer_id, total_referees=-1)
            continue
        referral.status = PENDING
        referral.order_id = referral.order_total_minor = referral.completed_at = None
        if reward is not None and reward.status == UNUSED:
            reward.status = VOID
            queue_reward_sync(reward)

    rewards = (
        db.session.execute(
            select(Reward)
            .where(
                Reward.shop_id == shop.id,
                Reward.used_order_id == order.id,
                Reward.revenue_minor != 0,
            )
            .with_for_update()
        )
        .scalars()
        .all()
    )
    for reward in rewards:
        bump(reward.customer_id, referrer_revenue_minor=-reward.revenue_minor)
        reward.revenue_minor = 0
