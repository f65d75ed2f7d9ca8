"""Process stored webhook deliveries exactly once, in batches, and sweep up stragglers.

Intake stores each delivery and "kicks" a drain job (at most one per kick window, so a burst
of deliveries costs one RQ job, not one each). A drain job claims batches of waiting
deliveries with a conditional UPDATE (a lease; `SKIP LOCKED` lets several workers drain side
by side), and commits each delivery's effects together with its `processed` mark. A claim
older than the lease is presumed dead: the sweeper re-queues it, so a killed worker's
delivery is redone, and never applied twice.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from itertools import groupby

from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy import Row, and_, or_, select, update

from shopify_app.platform import sweeps
from shopify_app.platform.errors import DeliveryRefused
from shopify_app.platform.extensions import db, redis_conn
from shopify_app.platform.live_traffic import count_deliveries
from shopify_app.platform.models import ProgramSettings, Shop, WebhookEvent
from shopify_app.platform.models.base import utcnow
from shopify_app.platform.models.webhook_event import FAILED, PROCESSED, PROCESSING, RECEIVED
from shopify_app.platform.queue import enqueue, job_app_context
from shopify_app.platform.retry import SWEEP_BACKOFF
from shopify_app.platform.sweeps import Sweep, Waiting
from webhooks.registry import RUNS, TOPICS

log = logging.getLogger(__name__)
#: a received delivery not claimed within this long was probably never queued.
QUEUE_GRACE = timedelta(seconds=10)
MAX_ATTEMPTS = sweeps.MAX_ATTEMPTS
BATCH_SIZE = 200
KICK_KEY = "shopify_app:webhooks:kick"
#: deliveries arriving within one window share a drain job.
KICK_WINDOW_MS = 200
#: what a drain batch keeps loaded from one run of deliveries to the next (rows handlers only read,
#: or change through the ORM alone).
KEPT_ACROSS_DELIVERIES = (Shop, ProgramSettings)


class _KickWindow:
    """What this process knows of the current kick window: until when the key surely lives,
    and the deliveries it accepted meanwhile that Redis has not counted yet."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.open_until = 0.0  # time.monotonic()
        self.uncounted = 0

    def forget(self) -> None:
        with self.lock:
            self.open_until, self.uncounted = 0.0, 0


_window = _KickWindow()


def forget_kick_window() -> None:
    """Ask Redis again on the next delivery (after Redis was emptied, as tests do)."""
    _window.forget()


def kick_drain() -> bool:
    """Make sure a drain job will see the delivery just stored; cheap when one is on its way.

    A drain job only stops after a last look once its kick window has closed, so while the
    key set with the last queued job lives, that job is bound to see this delivery too. The
    round trip that sets or finds the key also reads how long it lives: until then, this
    process does not ask again (under load, one round trip a window per process, not one a
    delivery). The deliveries are counted for the live-traffic rule in the same round trip,
    the ones accepted meanwhile included.
    """
    if not current_app.config["RQ_ASYNC"]:
        return enqueue("webhooks.drain.drain_webhooks")
    asked_at = time.monotonic()
    with _window.lock:
        if asked_at < _window.open_until:
            _window.uncounted += 1
            return True
        count, _window.uncounted = _window.uncounted + 1, 0
    try:
        pipeline = redis_conn().pipeline(transaction=False)
        pipeline.set(KICK_KEY, "1", nx=True, px=KICK_WINDOW_MS)
        pipeline.pttl(KICK_KEY)
        count_deliveries(pipeline, count)
        created, ttl_ms = pipeline.execute()[:2]
    except RedisError as error:
        log.warning("cannot kick the webhook drain: %s", error)
        return False
    if ttl_ms > 0:
        # Measured from before the round trip: the key lives at least this long.
        with _window.lock:
            _window.open_until = max(_window.open_until, asked_at + ttl_ms / 1000)
    if not created:
        return True
    # Taken after the key was set, so the window it names closes no earlier than the key.
    window_closes = time.time() + KICK_WINDOW_MS / 1000
    return enqueue("webhooks.drain.drain_webhooks", window_closes, result_ttl=0)


def queue_event(event_id: int) -> bool:
    """Queue one delivery on its own (the sweeper's retry path)."""
    return enqueue(
        "webhooks.drain.process_event",
        event_id,
        job_id=f"webhook-{event_id}",
        result_ttl=0,
    )


def _lease() -> timedelta:
    return timedelta(seconds=current_app.config["WEBHOOK_LEASE_SECONDS"])


def _claimable(now):
    return or_(
        WebhookEvent.status.in_([RECEIVED, FAILED]),
        and_(WebhookEvent.status == PROCESSING, WebhookEvent.claimed_at < now - _lease()),
    )


def _claim(event_id: int) -> bool:
    now = utcnow()
    claimed = db.session.execute(
        update(WebhookEvent)
        .where(WebhookEvent.id == event_id, _claimable(now))
        .values(status=PROCESSING, claimed_at=now, attempts=WebhookEvent.attempts + 1)
    ).rowcount
    db.session.commit()
    return claimed == 1


def _claim_batch(limit: int) -> list[int]:
    """Claim up to `limit` waiting deliveries, oldest first, skipping rows others hold."""
    now = utcnow()
    waiting = (
        select(WebhookEvent.id)
        .where(WebhookEvent.status == RECEIVED)
        .order_by(WebhookEvent.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    ids = (
        db.session.execute(
            update(WebhookEvent)
            .where(WebhookEvent.id.in_(waiting), WebhookEvent.status == RECEIVED)
            .values(status=PROCESSING, claimed_at=now, attempts=WebhookEvent.attempts + 1)
            .returning(WebhookEvent.id)
        )
        .scalars()
        .all()
    )
    db.session.commit()
    return sorted(ids)


def _process_claimed(event_id: int, *, reraise: bool) -> bool:
    """Run the handler for a delivery this worker claimed; effects commit with the mark."""
    event = db.session.get(WebhookEvent, event_id)
    if event is None:
        return False
    try:
        shop = db.session.get(Shop, event.shop_id) if event.shop_id else None
        if shop is not None and event.payload is not None:
            TOPICS[event.topic](shop, json.loads(event.payload), event)
        db.session.execute(
            update(WebhookEvent)
            .where(WebhookEvent.id == event_id)
            .values(status=PROCESSED, processed_at=utcnow(), error=None)
        )
        db.session.commit()
    except DeliveryRefused as error:
        db.session.rollback()
        log.warning("webhook %s refused: %s", event_id, error)
        db.session.execute(
            update(WebhookEvent)
            .where(WebhookEvent.id == event_id)
            .values(status=FAILED, error=f"refused: {error}"[:2000], attempts=MAX_ATTEMPTS)
        )
        db.session.commit()
        return False
    except Exception as error:
        db.session.rollback()
        log.exception("webhook %s failed", event_id)
        db.session.execute(
            update(WebhookEvent)
            .where(WebhookEvent.id == event_id)
            .values(status=FAILED, error=f"{type(error).__name__}: {error}"[:2000])
        )
        db.session.commit()
        if reraise:
            raise
        return False
    return True


def _runs(events: list[WebhookEvent], shops: dict[int, Shop]) -> Iterator[list[WebhookEvent]]:
    """The batch in delivery order, cut into runs: consecutive deliveries of one shop whose
    topics share a run handler (`webhooks.registry.RUNS`) form one run; any other delivery is
    a run of its own."""

    def run_key(event: WebhookEvent) -> tuple[object, ...]:
        handler = RUNS.get(event.topic)
        if handler is None or event.shop_id not in shops or event.payload is None:
            return ("alone", event.id)
        return (event.shop_id, handler)

    for _, run in groupby(events, key=run_key):
        yield list(run)


def _handle(run: list[WebhookEvent], shops: dict[int, Shop]) -> None:
    """Run the handler of a run's topic: once for the whole run, or once for its delivery."""
    first = run[0]
    shop = shops.get(first.shop_id)
    if shop is None or first.payload is None:
        return
    if len(run) > 1:
        RUNS[first.topic](shop, [(json.loads(e.payload), e) for e in run])  # type: ignore[arg-type]
    else:
        TOPICS[first.topic](shop, json.loads(first.payload), first)


def _process_batch(ids: list[int]) -> int:
    """Run a claimed batch in one transaction: one commit for the batch, not two a delivery.

    Consecutive customer or order deliveries of a shop go to their handler as one run (see
    `_runs`), to be applied set-wise. Shops (and their program settings) are
    loaded once for the batch; everything else a run loaded is flushed and let go before the
    next, so no run reads another's stale objects and the session stays small. If any
    delivery fails, the batch rolls back and each delivery runs again on its own
    (`_process_claimed`), so only the failing one is marked failed.
    """
    session = db.session()
    events = (
        session.execute(
            select(WebhookEvent).where(WebhookEvent.id.in_(ids)).order_by(WebhookEvent.id)
        )
        .scalars()
        .all()
    )
    shop_ids = {event.shop_id for event in events if event.shop_id}
    shops = {
        shop.id: shop
        for shop in session.execute(select(Shop).where(Shop.id.in_(shop_ids))).scalars()
    }
    # Held for the whole batch: the session's identity map only holds objects weakly.
    _settings = (
        session.execute(select(ProgramSettings).where(ProgramSettings.shop_id.in_(shop_ids)))
        .scalars()
        .all()
    )
    try:
        for run in _runs(events, shops):
            _handle(run, shops)
            session.flush()
            for loaded in list(session.identity_map.values()):
                if not isinstance(loaded, KEPT_ACROSS_DELIVERIES):
                    session.expunge(loaded)
        session.execute(
            update(WebhookEvent)
            .where(WebhookEvent.id.in_([event.id for event in events]))
            .values(status=PROCESSED, processed_at=utcnow(), error=None)
        )
        session.commit()
    except Exception:
        session.rollback()
        log.warning("a delivery of batch %s..%s failed; running them one by one", ids[0], ids[-1])
        return sum(_process_claimed(event_id, reraise=False) for event_id in ids)
    return len(events)


def process_event(event_id: int) -> str:
    """Process one stored delivery; a no-op if it is already done or claimed by a live worker."""
    with job_app_context():
        if not _claim(event_id):
            return "skipped"
        _process_claimed(event_id, reraise=True)
        return "processed"


def drain_webhooks(window_closes: float | None = None) -> int:
    """Process waiting deliveries in batches until none are left; returns how many.

    `window_closes` is when the kick window that queued this job closes (epoch seconds):
    deliveries stored until then did not queue a job of their own, so once nothing is left
    the job looks once more after that moment. Under a burst many kicks queue up; a job
    that starts after its window closed needs no second look, and costs one query.
    """
    with job_app_context():
        processed = 0
        if window_closes is None:
            window_closes = time.time() + KICK_WINDOW_MS / 1000
        while True:
            ids = _claim_batch(BATCH_SIZE)
            if ids:
                processed += _process_batch(ids)
                db.session.expire_all()
                continue
            wait = window_closes - time.time()
            if wait < 0:
                return processed  # this empty look came after the window closed
            time.sleep(wait + 0.001)


def _queue_again(row: Row) -> bool:
    return queue_event(row.id)


#: deliveries waiting: never queued (received, past the grace), dead claims (past the lease),
#: and failed ones with attempts left, once their backoff since the last claim has passed.
#: The claim counts the attempts, so the sweep only reads them.
WAITING = Sweep(
    WebhookEvent,
    (
        Waiting(WebhookEvent.status == RECEIVED, WebhookEvent.received_at, QUEUE_GRACE),
        Waiting(WebhookEvent.status == PROCESSING, WebhookEvent.claimed_at, _lease),
        Waiting(
            and_(WebhookEvent.status == FAILED, WebhookEvent.attempts < MAX_ATTEMPTS),
            WebhookEvent.claimed_at,
            backoff=SWEEP_BACKOFF,
        ),
    ),
    _queue_again,
    attempts=WebhookEvent.attempts,
    limit=5000,
)


def sweep_webhooks() -> int:
    """Queue deliveries that are waiting: never queued, failed (with backoff), or dead claims."""
    with job_app_context():
        return sweeps.run(WAITING)
