"""A referrer's reward code in Shopify: kept in line with its status, after commit.

Attribution must not wait on Shopify, so it only marks a reward `shopify_status="pending"`
and queues one sync job once its transaction commits; the job (`jobs.sync_rewards`) calls
`sync_reward_with`, and the sweep re-drives what never ran.
"""

from __future__ import annotations

import hashlib

from shopify_app.platform.extensions import db
from shopify_app.platform.models import Customer, Reward, Shop
from shopify_app.platform.models.referral import UNUSED, VOID
from shopify_app.platform.queue import enqueue_after_commit
from shopify_app.platform.shopify.discounts import Discounts, DiscountValue


def sync_reward_with(shop: Shop, reward: Reward, discounts: Discounts) -> None:
    """Bring the reward's code in Shopify in line with its status; raises ShopifyAPIError."""
    if reward.status == VOID:
        if reward.shopify_discount_id:
            discounts.set_active(reward.shopify_discount_id, False)
    elif reward.shopify_discount_id is None:
        referrer = db.session.get(Customer, reward.customer_id)
        reward.shopify_discount_id = discounts.create(
            reward.code,
            f"Referral reward for {referrer.display_name if referrer else 'a referrer'}",
            reward_value_of(reward),
            referrer.shopify_gid if referrer is not None else None,
        )
    elif reward.status == UNUSED:
        discounts.set_active(reward.shopify_discount_id, True)
    reward.shopify_status = "synced"
    reward.shopify_error = None


def reward_value_of(reward: Reward) -> DiscountValue:
    return DiscountValue(reward.value_type, int(reward.value))


def queue_reward_sync(reward: Reward) -> None:
    """Mark the reward as needing Shopify's attention and queue the sync after commit."""
    queue_reward_syncs([reward])


def queue_reward_syncs(rewards: list[Reward]) -> None:
    """`queue_reward_sync` for many rewards: one flush gives the new ones their ids, and one
    job syncs them all (a webhook batch's rewards cost one job, not one each)."""
    if not rewards:
        return
    for reward in rewards:
        reward.shopify_status = "pending"
    db.session.flush()
    ids = [reward.id for reward in rewards]
    key = hashlib.sha1(",".join(f"{r.id}:{r.status}" for r in rewards).encode()).hexdigest()
    enqueue_after_commit(
        "shopify_app.referrals.jobs.sync_rewards", ids, job_id=f"reward-sync-{key}"
    )
