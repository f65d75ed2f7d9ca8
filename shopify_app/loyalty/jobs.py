"""Jobs of the loyalty program: finish redemptions whose points are spent but code not made.

`redeem` queues `issue_redemption` once its transaction commits; the shopper's request usually
finishes the redemption first, and the job then finds nothing to do. `sweep_redemptions`
re-queues redemptions left pending (a worker killed between deducting and creating, Redis
down at commit, Shopify failing) with backoff, until they are issued or failed and refunded.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from shopify_app.loyalty.redeeming import issue_code
from shopify_app.platform.extensions import db
from shopify_app.platform.models import Redemption, Shop
from shopify_app.platform.models.base import utcnow
from shopify_app.platform.models.loyalty import REDEMPTION_PENDING
from shopify_app.platform.queue import enqueue, job_app_context
from shopify_app.platform.retry import SWEEP_BACKOFF
from shopify_app.platform.shopify.discounts import ShopifyDiscounts

#: a pending redemption younger than this is still with its request or its queued job.
QUEUE_GRACE = timedelta(seconds=30)


def issue_redemption(redemption_id: int) -> str:
    """Create the redemption's code in Shopify, or refund it; its status after. Idempotent."""
    with job_app_context():
        redemption = db.session.get(Redemption, redemption_id)
        shop = db.session.get(Shop, redemption.shop_id) if redemption is not None else None
        if redemption is None or redemption.status != REDEMPTION_PENDING:
            return "skipped"
        if shop is None or not shop.is_installed:
            return "skipped"
        finished = issue_code(shop, redemption_id, ShopifyDiscounts(shop))
        status = finished.status if finished is not None else "skipped"
        db.session.commit()
        return status


def sweep_redemptions() -> int:
    """Queue redemptions still pending after the grace period, each after its backoff."""
    with job_app_context():
        now = utcnow()
        rows = db.session.execute(
            select(Redemption.id, Redemption.attempts, Redemption.updated_at)
            .where(
                Redemption.status == REDEMPTION_PENDING,
                Redemption.updated_at < now - QUEUE_GRACE,
            )
            .order_by(Redemption.id)
            .limit(2000)
        ).all()
        queued = 0
        for row in rows:
            if row.attempts and row.updated_at + SWEEP_BACKOFF.wait(row.attempts) > now:
                continue
            if enqueue(
                "shopify_app.loyalty.jobs.issue_redemption",
                row.id,
                job_id=f"redeem-issue-{row.id}-{row.attempts}",
            ):
                queued += 1
        return queued
