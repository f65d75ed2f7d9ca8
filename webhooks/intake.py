"""Accept a verified delivery: check topic and shop, store it once, queue its processing."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from shopify_app.auth.shop_domain import is_valid_shop_domain
from shopify_app.extensions import db
from shopify_app.models import Shop, WebhookEvent
from shopify_app.models.base import utcnow
from webhooks.registry import TOPICS, UNINSTALLED_SHOP_TOPICS


@dataclass(frozen=True)
class WebhookDelivery:
    topic: str
    shop_domain: str
    webhook_id: str | None
    api_version: str | None
    triggered_at: str | None
    body: bytes


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def accept_delivery(delivery: WebhookDelivery) -> tuple[str, int]:
    """Store and queue a delivery; returns (outcome, HTTP status). Commits."""
    if delivery.topic not in TOPICS:
        return "ignored: topic not handled", 200
    if not is_valid_shop_domain(delivery.shop_domain):
        return "rejected: invalid shop domain", 400
    shop_id, installed = _shop_state(delivery.shop_domain.lower())
    if shop_id is None or (not installed and delivery.topic not in UNINSTALLED_SHOP_TOPICS):
        return "ignored: shop not installed", 200

    webhook_id = (
        delivery.webhook_id
        or "sha256:" + hashlib.sha256(delivery.topic.encode() + b"\n" + delivery.body).hexdigest()
    )
    try:
        event_id = db.session.execute(
            insert(WebhookEvent)
            .values(
                webhook_id=webhook_id[:255],
                shop_id=shop_id,
                shop_domain=delivery.shop_domain.lower(),
                topic=delivery.topic,
                api_version=delivery.api_version,
                payload=delivery.body.decode("utf-8", errors="replace"),
                triggered_at=_parse_time(delivery.triggered_at),
                received_at=utcnow(),
            )
            .returning(WebhookEvent.id)
        ).scalar_one()
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return "duplicate", 200

    from shopify_app.jobs.webhooks import queue_event

    queue_event(event_id)
    return "accepted", 200


def _shop_state(domain: str) -> tuple[int | None, bool]:
    row = db.session.execute(
        select(Shop.id, Shop.uninstalled_at, Shop.access_token_encrypted).where(
            Shop.domain == domain
        )
    ).first()
    if row is None:
        return None, False
    return row.id, row.uninstalled_at is None and row.access_token_encrypted is not None
