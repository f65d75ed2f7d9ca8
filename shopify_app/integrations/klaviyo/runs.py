"""Running the Klaviyo sync: one at a time per shop, and what a failure leaves behind.

Klaviyo down (connections refused, 5xx after the client's retries) or a long Retry-After
leaves every customer lagging as they were and sets the connection's `retry_at` (the
platform's sweep backoff, or Klaviyo's Retry-After); the sweep queues the shop again once
that time has passed, so nothing is lost and nothing is retried in a tight loop. A refused
key or a missing scope stops the sync until the merchant connects a working key.
"""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta

from redis import Redis

from shopify_app.integrations.klaviyo import connection as connections
from shopify_app.integrations.klaviyo.client import (
    KeyRefused,
    KlaviyoClient,
    KlaviyoError,
    RateLimited,
    ScopeMissing,
)
from shopify_app.integrations.klaviyo.sync import connected_shop_ids, has_pending, run_sync
from shopify_app.platform.extensions import db, redis_conn
from shopify_app.platform.models import KlaviyoConnection, Shop
from shopify_app.platform.models.base import utcnow
from shopify_app.platform.models.klaviyo import CONNECTED, KEY_REFUSED, SCOPE_MISSING
from shopify_app.platform.queue import enqueue, enqueue_after_commit
from shopify_app.platform.retry import SWEEP_BACKOFF

log = logging.getLogger(__name__)
JOB = "shopify_app.integrations.klaviyo.jobs.sync_klaviyo"
LOCK_TTL = 600
WAITING = (
    "Klaviyo could not be reached. Updates are kept and go out, in order, when it answers again."
)


def job_id(shop_id: int) -> str:
    return f"klaviyo-sync-{shop_id}"


def request_sync(shop: Shop) -> None:
    """Queue the shop's sync once this transaction commits, if Klaviyo is connected."""
    if connections.get_connection(shop) is not None:
        enqueue_after_commit(JOB, shop.id, job_id=job_id(shop.id))


def _lock_key(shop_id: int) -> str:
    return f"shopify_app:klaviyo:{shop_id}:lock"


def _again_key(shop_id: int) -> str:
    return f"shopify_app:klaviyo:{shop_id}:again"


def sync_shop(shop_id: int) -> str:
    """One sync at a time per shop; a job arriving meanwhile asks the running one for
    another pass (set before the lock is tried, read after it is let go)."""
    redis: Redis = redis_conn()
    redis.set(_again_key(shop_id), "1", ex=LOCK_TTL)
    token = secrets.token_hex(8)
    outcome = "skipped: another sync runs"
    while redis.set(_lock_key(shop_id), token, nx=True, ex=LOCK_TTL):
        try:
            redis.delete(_again_key(shop_id))
            outcome = _sync_once(shop_id)
        finally:
            if redis.get(_lock_key(shop_id)) in (token, token.encode()):
                redis.delete(_lock_key(shop_id))
        if not redis.exists(_again_key(shop_id)) or not outcome.startswith("sent"):
            break
    return outcome


def _sync_once(shop_id: int) -> str:
    shop = db.session.get(Shop, shop_id)
    connection = db.session.get(KlaviyoConnection, shop_id)
    if shop is None or shop.uninstalled_at is not None or connection is None:
        return "skipped: not connected"
    if connection.status != CONNECTED:
        return f"skipped: {connection.status}"
    now = utcnow()
    if connection.retry_at is not None and connection.retry_at > now:
        return f"skipped: waiting until {connection.retry_at.isoformat()}"
    key = connections.api_key(connection)
    if key is None:
        _stop(shop_id, KEY_REFUSED, "The stored key can no longer be read. Connect it again.")
        return "stopped: key unreadable"
    try:
        result = run_sync(shop, KlaviyoClient(key))
    except KeyRefused as error:
        db.session.rollback()
        _stop(shop_id, KEY_REFUSED, "Klaviyo refused the stored API key. Connect a new key.")
        return f"stopped: {error.detail}"
    except ScopeMissing as error:
        db.session.rollback()
        _stop(shop_id, SCOPE_MISSING, error.message)
        return f"stopped: {error.detail}"
    except RateLimited as error:
        db.session.rollback()
        _later(shop_id, timedelta(seconds=error.retry_after), error.message, count=False)
        return f"throttled: retry in {error.retry_after:.0f}s"
    except KlaviyoError as error:
        db.session.rollback()
        log.warning("klaviyo sync of shop %s failed: %s %s", shop_id, error, error.detail)
        _later(shop_id, None, WAITING)
        return f"failed: {error.detail or error.message}"
    connection = db.session.get(KlaviyoConnection, shop_id)
    if connection is not None:
        connection.failures = 0
        connection.retry_at = None
        connection.last_error = None
        connection.last_synced_at = utcnow()
    db.session.commit()
    deleted = f", {result.deletions} profiles deleted" if result.deletions else ""
    return (
        f"sent {result.profiles} profiles and {result.events} events in {result.jobs} jobs"
        + deleted
    )


def _stop(shop_id: int, state: str, message: str) -> None:
    connection = db.session.get(KlaviyoConnection, shop_id)
    if connection is not None:
        connection.status = state
        connection.last_error = message
    db.session.commit()


def _later(shop_id: int, wait: timedelta | None, message: str, *, count: bool = True) -> None:
    """Come back after `wait` (Retry-After) or the sweep backoff for the failures so far."""
    connection = db.session.get(KlaviyoConnection, shop_id)
    if connection is not None:
        if count:
            connection.failures += 1
        connection.retry_at = utcnow() + (wait or SWEEP_BACKOFF.wait(connection.failures))
        connection.last_error = message
    db.session.commit()


def sweep() -> int:
    """Queue a sync for connected shops with lagging customers (balance changes, found by
    comparison), deletions owed, and work a failure or a lost job left."""
    queued = 0
    for shop_id in connected_shop_ids(utcnow()):
        shop = db.session.get(Shop, shop_id)
        if shop is not None and has_pending(shop):
            queued += enqueue(JOB, shop_id, job_id=job_id(shop_id))
    db.session.rollback()
    return queued
