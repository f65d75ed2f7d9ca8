"""Process stored webhook deliveries exactly once, and sweep up any that were not queued.

A delivery is claimed with a conditional UPDATE (a lease), its effects and its `processed`
mark commit in one transaction, and a claim older than the lease is presumed dead: the
sweeper re-queues it, so a killed worker's delivery is redone, and never twice.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta

from flask import current_app
from sqlalchemy import and_, or_, select, update

from shopify_app.extensions import db
from shopify_app.jobs import enqueue, job_app_context
from shopify_app.models import Shop, WebhookEvent
from shopify_app.models.base import utcnow
from shopify_app.models.webhook_event import FAILED, PROCESSED, PROCESSING, RECEIVED

log = logging.getLogger(__name__)
#: a received delivery not claimed within this long was probably never queued.
QUEUE_GRACE = timedelta(seconds=10)
MAX_ATTEMPTS = 8


def queue_event(event_id: int) -> bool:
    return enqueue(
        "shopify_app.jobs.webhooks.process_event",
        event_id,
        job_id=f"webhook-{event_id}",
        result_ttl=0,
    )


def _lease() -> timedelta:
    return timedelta(seconds=current_app.config["WEBHOOK_LEASE_SECONDS"])


def _claim(event_id: int) -> bool:
    now = utcnow()
    claimed = db.session.execute(
        update(WebhookEvent)
        .where(
            WebhookEvent.id == event_id,
            or_(
                WebhookEvent.status.in_([RECEIVED, FAILED]),
                and_(WebhookEvent.status == PROCESSING, WebhookEvent.claimed_at < now - _lease()),
            ),
        )
        .values(status=PROCESSING, claimed_at=now, attempts=WebhookEvent.attempts + 1)
    ).rowcount
    db.session.commit()
    return claimed == 1


def process_event(event_id: int) -> str:
    """Run the topic's handler for one stored delivery; a no-op if already done."""
    from webhooks.registry import TOPICS

    with job_app_context():
        if not _claim(event_id):
            return "skipped"
        event = db.session.get(WebhookEvent, event_id)
        assert event is not None
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
        except Exception as error:
            db.session.rollback()
            log.exception("webhook %s (%s) failed", event_id, event.topic)
            db.session.execute(
                update(WebhookEvent)
                .where(WebhookEvent.id == event_id)
                .values(status=FAILED, error=f"{type(error).__name__}: {error}"[:2000])
            )
            db.session.commit()
            raise
        return "processed"


def sweep_webhooks() -> int:
    """Queue deliveries that are waiting: never queued, failed (with backoff), or dead claims."""
    with job_app_context():
        now = utcnow()
        rows = db.session.execute(
            select(
                WebhookEvent.id, WebhookEvent.status, WebhookEvent.attempts, WebhookEvent.claimed_at
            )
            .where(
                or_(
                    and_(
                        WebhookEvent.status == RECEIVED,
                        WebhookEvent.received_at < now - QUEUE_GRACE,
                    ),
                    and_(
                        WebhookEvent.status == PROCESSING,
                        WebhookEvent.claimed_at < now - _lease(),
                    ),
                    and_(WebhookEvent.status == FAILED, WebhookEvent.attempts < MAX_ATTEMPTS),
                )
            )
            .order_by(WebhookEvent.id)
            .limit(5000)
        ).all()
        queued = 0
        for row in rows:
            if row.status == FAILED and row.claimed_at is not None:
                backoff = timedelta(seconds=min(2**row.attempts * 5, 3600))
                if row.claimed_at + backoff > now:
                    continue
            if queue_event(row.id):
                queued += 1
        return queued
