"""RQ entry points of the Klaviyo sync, by dotted path; the work is in `runs`."""

from __future__ import annotations

from shopify_app.integrations.klaviyo import runs
from shopify_app.platform.models import Shop
from shopify_app.platform.queue import job_app_context


def sync_klaviyo(shop_id: int) -> str:
    """Send the shop's lagging profiles and new enrolments' events to Klaviyo."""
    with job_app_context(owner=(Shop, shop_id)):
        return runs.sync_shop(shop_id)


def sweep_klaviyo() -> int:
    """Queue a sync for shops with changed balances or work a failure left."""
    with job_app_context():
        return runs.sweep()
