"""RQ entry points of the balance metafield, by dotted path; the work is in `metafields`."""

from __future__ import annotations

from shopify_app.loyalty import metafields
from shopify_app.platform.queue import job_app_context


def sync_metafields(shop_id: int) -> str:
    """Send the shop's changed balances to their customers' `$app:loyalty.points` metafield."""
    with job_app_context():
        return metafields.sync_shop(shop_id)


def sweep_metafields() -> int:
    """Queue a sync for shops whose balances are still dirty (a lost job, a failed call)."""
    with job_app_context():
        return metafields.sweep()
