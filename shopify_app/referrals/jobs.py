"""Jobs of the referral engine: bring Shopify's reward codes in line with the database.

Attribution runs inside a webhook's transaction and must not wait on Shopify, so it records a
reward as `shopify_status="pending"` and queues `sync_rewards` once that transaction commits;
the sweep re-queues any reward whose sync never ran or failed (with backoff).
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import timedelta

from sqlalchemy import Row, and_, select

from shopify_app.platform import sweeps
from shopify_app.platform.errors import ShopifyAPIError
from shopify_app.platform.extensions import db
from shopify_app.platform.models import Reward, Shop
from shopify_app.platform.queue import enqueue, job_app_context
from shopify_app.platform.retry import SWEEP_BACKOFF
from shopify_app.platform.shopify.discounts import ShopifyDiscounts
from shopify_app.platform.sweeps import Sweep, Waiting
from shopify_app.referrals.rewards import sync_reward_with

log = logging.getLogger(__name__)
MAX_SYNC_ATTEMPTS = sweeps.MAX_ATTEMPTS
#: a pending reward older than this was probably never queued (its commit hook lost Redis).
QUEUE_GRACE = timedelta(seconds=30)


def sync_rewards(reward_ids: list[int]) -> dict[str, int]:
    """Sync each reward with Shopify, each in its own transaction; counts by outcome."""
    with job_app_context():
        return dict(Counter(_sync(reward_id) for reward_id in reward_ids))


def sync_reward(reward_id: int) -> str:
    """Create (or deactivate, once void) the reward's discount code in Shopify. Idempotent."""
    with job_app_context(owner=(Reward, reward_id)):
        return _sync(reward_id)


def _sync(reward_id: int) -> str:

    reward = db.session.execute(
        select(Reward).where(Reward.id == reward_id).with_for_update()
    ).scalar_one_or_none()
    if reward is None or reward.shopify_status not in ("pending", "failed"):
        db.session.rollback()
        return "skipped"
    shop = db.session.get(Shop, reward.shop_id)
    if shop is None or not shop.is_installed:
        db.session.rollback()
        return "skipped"
    try:
        sync_reward_with(shop, reward, ShopifyDiscounts(shop))
    except ShopifyAPIError as error:
        reward.shopify_status = "failed"
        reward.shopify_attempts += 1
        reward.shopify_error = str(error)[:2000]
        db.session.commit()
        log.warning("reward %s: Shopify sync failed: %s", reward_id, error)
        return "failed"
    db.session.commit()
    return "synced"


def _sync_again(row: Row) -> bool:
    """The job id names the reward's state and attempts, so each retry is a job of its own."""
    return enqueue(
        "shopify_app.referrals.jobs.sync_reward",
        row.id,
        job_id=f"reward-sync-{row.id}-{row.status}-{row.shopify_attempts}",
    )


#: syncs that never ran (pending past the grace) and failed ones with attempts left; either
#: waits its backoff once an attempt failed. The job counts the attempts (on failure).
WAITING = Sweep(
    Reward,
    (
        Waiting(Reward.shopify_status == "pending", Reward.updated_at, QUEUE_GRACE, SWEEP_BACKOFF),
        Waiting(
            and_(Reward.shopify_status == "failed", Reward.shopify_attempts < MAX_SYNC_ATTEMPTS),
            Reward.updated_at,
            backoff=SWEEP_BACKOFF,
        ),
    ),
    _sync_again,
    reads=(Reward.status,),
    attempts=Reward.shopify_attempts,
    limit=2000,
)


def sweep_rewards() -> int:
    """Queue reward syncs that never ran, and failed ones once their backoff has passed."""
    with job_app_context():
        return sweeps.run(WAITING)
