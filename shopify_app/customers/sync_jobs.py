"""Jobs: the initial (or merchant-requested) customer sync for one shop, and its sweep.

The sweep queues a sync again that was started but went nowhere: its job never reached Redis
(queued, past the grace) or its worker died (running, silent past `SYNC_LEASE_SECONDS`). The
sync resumes from its saved cursor. Each time counts as an attempt (until "Resync customers"
starts afresh); at the limit the sync is failed with a message the home page shows.
"""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from rq import Retry
from sqlalchemy import Row, and_

from shopify_app.customers.sync import run_sync
from shopify_app.platform import sweeps
from shopify_app.platform.extensions import db
from shopify_app.platform.models import Shop
from shopify_app.platform.queue import enqueue, job_app_context, job_status
from shopify_app.platform.shopify.client import AdminClient
from shopify_app.platform.sweeps import GiveUp, Sweep, Waiting

#: a queued sync whose job is not in Redis this long after it was queued lost its enqueue.
QUEUE_GRACE = timedelta(minutes=1)
SYNC_FAILED = (
    "The customer sync was interrupted: we couldn't read your customers from Shopify. "
    "It will be retried automatically; the customers synced so far are kept."
)
GAVE_UP = (
    "The customer sync stopped before it finished, and was resumed {} times. "
    "Resync customers to start it again."
)


def sync_job_id(shop_id: int, attempt: int) -> str:
    """The job id names the attempt, so a resumed sync is never mistaken for the dead one."""
    return f"sync-customers-{shop_id}-{attempt}"


def _queue_sync(shop_id: int, attempt: int) -> bool:
    return enqueue(
        "shopify_app.customers.sync_jobs.sync_customers",
        shop_id,
        attempt,
        job_id=sync_job_id(shop_id, attempt),
        retry=Retry(max=3, interval=[10, 30, 60]),
    )


def queue_initial_sync(shop: Shop) -> None:
    """Work that follows an install (or "Resync customers"): the customer sync."""
    _queue_sync(shop.id, shop.sync_attempts)


def sync_customers(shop_id: int, attempt: int | None = None) -> str:
    """Run (or resume) the shop's sync; a job of an attempt the sweeper has since replaced
    does nothing (RQ may still retry a dead worker's job once the sweep resumed the sync)."""
    with job_app_context(owner=(Shop, shop_id)):
        shop = db.session.get(Shop, shop_id)
        if shop is None or not shop.is_installed:
            return "skipped"
        if attempt is not None and attempt != shop.sync_attempts:
            return "superseded"
        try:
            run_sync(shop, AdminClient(shop))
        except Exception:
            db.session.rollback()
            shop = db.session.get(Shop, shop_id)
            if shop is not None:
                shop.sync_status = "failed"
                shop.sync_error = SYNC_FAILED
                db.session.commit()
            raise
        return "done"


def _lease() -> timedelta:
    return timedelta(seconds=current_app.config["SYNC_LEASE_SECONDS"])


def _job_waiting(row: Row) -> bool:
    """The last job queued for the sync has not started yet (the queue is busy): leave it.

    Once started, "running" is committed at once and the lease judges the worker; a dead
    worker's job stays "started" in Redis, so that status proves nothing.
    """
    status = job_status(sync_job_id(row.id, row.sync_attempts))
    return status in ("queued", "deferred", "scheduled")


def _resume(row: Row) -> bool:
    return _queue_sync(row.id, row.sync_attempts)


_installed = and_(Shop.uninstalled_at.is_(None), Shop.access_token_encrypted.is_not(None))
#: syncs started and stalled: never reached a worker, or their worker went silent.
STALLED = Sweep(
    Shop,
    (
        Waiting(and_(Shop.sync_status == "queued", _installed), Shop.updated_at, QUEUE_GRACE),
        Waiting(and_(Shop.sync_status == "running", _installed), Shop.updated_at, _lease),
    ),
    _resume,
    attempts=Shop.sync_attempts,
    give_up=GiveUp(
        sweeps.MAX_ATTEMPTS,
        {"sync_status": "failed", "sync_error": GAVE_UP.format(sweeps.MAX_ATTEMPTS)},
    ),
    unless=_job_waiting,
)


def sweep_syncs() -> int:
    """Resume customer syncs that stalled (a lost job, a dead worker); give up after a few."""
    with job_app_context():
        return sweeps.run(STALLED)
