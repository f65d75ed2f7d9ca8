"""Job: the initial (or merchant-requested) customer sync for one shop."""

from __future__ import annotations

from rq import Retry

from shopify_app.customers.sync import run_sync
from shopify_app.platform.extensions import db
from shopify_app.platform.models import Shop
from shopify_app.platform.queue import enqueue, job_app_context
from shopify_app.platform.shopify.client import AdminClient


def queue_initial_sync(shop: Shop) -> None:
    """Work that follows an install (or "Resync customers"): the customer sync."""
    enqueue(
        "shopify_app.customers.sync_jobs.sync_customers",
        shop.id,
        job_id=f"sync-customers-{shop.id}",
        retry=Retry(max=3, interval=[10, 30, 60]),
    )


def sync_customers(shop_id: int) -> str:
    with job_app_context():
        shop = db.session.get(Shop, shop_id)
        if shop is None or not shop.is_installed:
            return "skipped"
        try:
            run_sync(shop, AdminClient(shop))
        except Exception as error:
            db.session.rollback()
            shop = db.session.get(Shop, shop_id)
            if shop is not None:
                shop.sync_status = "failed"
                shop.sync_error = str(error)[:1000]
                db.session.commit()
            raise
        return "done"
