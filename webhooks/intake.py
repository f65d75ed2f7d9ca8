"""Accept a verified delivery: check topic and shop, store it once, queue its processing."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Integer, String, Text, literal, select

from shopify_app.platform.auth.shop_domain import is_valid_shop_domain
from shopify_app.platform.db import is_postgresql, upsert_insert
from shopify_app.platform.extensions import db
from shopify_app.platform.models import Shop, WebhookEvent
from shopify_app.platform.models.base import UTCDateTime, utcnow
from shopify_app.platform.models.webhook_event import RECEIVED
from webhooks.drain import kick_drain
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
    """Store and queue a delivery; returns (outcome, HTTP status). Commits.

    The hot path is one statement: insert the delivery for the shop (if the shop is one we
    serve) unless its webhook id is already stored. Only when nothing was inserted do we ask
    why, to answer "duplicate" or "ignored".
    """
    if delivery.topic not in TOPICS:
        return "ignored: topic not handled", 200
    if not is_valid_shop_domain(delivery.shop_domain):
        return "rejected: invalid shop domain", 400
    domain = delivery.shop_domain.lower()
    webhook_id = (
        delivery.webhook_id
        or "sha256:" + hashlib.sha256(delivery.topic.encode() + b"\n" + delivery.body).hexdigest()
    )[:255]
    if is_postgresql():
        stored = _store_postgresql(delivery, domain, webhook_id)
    else:
        stored = _store_portable(delivery, domain, webhook_id)
    if not stored:
        duplicate = db.session.execute(
            select(WebhookEvent.id).where(WebhookEvent.webhook_id == webhook_id)
        ).first()
        db.session.rollback()
        return ("duplicate", 200) if duplicate else ("ignored: shop not installed", 200)

    kick_drain()
    return "accepted", 200


_COLUMNS = (
    "webhook_id, shop_id, shop_domain, topic, api_version, payload, triggered_at, received_at, "
    "status, attempts"
)
_INSERT_POSTGRESQL = (
    f"INSERT INTO webhook_events ({_COLUMNS}) "
    "SELECT %(webhook_id)s, id, %(domain)s::text, %(topic)s, %(api_version)s, %(payload)s, "
    "%(triggered_at)s, %(now)s, %(status)s, 0 "
    "FROM shops WHERE domain = %(domain)s::text{installed} "
    "ON CONFLICT (webhook_id) DO NOTHING RETURNING id"
)
_INSTALLED = " AND uninstalled_at IS NULL AND access_token_encrypted IS NOT NULL"


def _store_postgresql(delivery: WebhookDelivery, domain: str, webhook_id: str) -> bool:
    """The insert as one prepared statement on an autocommit connection: one round trip.

    Going through the ORM session cost about 2 ms of CPU per delivery (building, compiling,
    a separate COMMIT); this costs about 0.4 ms, which is what lets a 2-core box take over
    1,000 deliveries a second.
    """
    installed = "" if delivery.topic in UNINSTALLED_SHOP_TOPICS else _INSTALLED
    params = {
        "webhook_id": webhook_id,
        "domain": domain,
        "topic": delivery.topic,
        "api_version": delivery.api_version,
        "payload": delivery.body.decode("utf-8", errors="replace"),
        "triggered_at": _naive_utc(_parse_time(delivery.triggered_at)),
        "now": _naive_utc(utcnow()),
        "status": RECEIVED,
    }
    pooled = db.engine.raw_connection()
    try:
        connection = pooled.driver_connection
        connection.autocommit = True
        try:
            row = connection.execute(
                _INSERT_POSTGRESQL.format(installed=installed), params, prepare=True
            ).fetchone()
        finally:
            connection.autocommit = False
    finally:
        pooled.close()
    return row is not None


def _naive_utc(value: datetime | None) -> datetime | None:
    """As UTCDateTime stores it: naive UTC (a time without an offset is taken as UTC)."""
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)


def _store_portable(delivery: WebhookDelivery, domain: str, webhook_id: str) -> bool:
    """The same insert through SQLAlchemy Core, for SQLite (the embedded default)."""
    event_id = db.session.execute(
        _insert_for_shop(delivery, domain, webhook_id)
    ).scalar_one_or_none()
    db.session.commit()
    return event_id is not None


def _insert_for_shop(delivery: WebhookDelivery, domain: str, webhook_id: str):
    """INSERT … SELECT from the shop row, ON CONFLICT (webhook_id) DO NOTHING, RETURNING id."""
    shop_filter = [Shop.domain == domain]
    if delivery.topic not in UNINSTALLED_SHOP_TOPICS:
        shop_filter += [Shop.uninstalled_at.is_(None), Shop.access_token_encrypted.is_not(None)]
    values = select(
        literal(webhook_id, String),
        Shop.id,
        literal(domain, String),
        literal(delivery.topic, String),
        literal(delivery.api_version, String),
        literal(delivery.body.decode("utf-8", errors="replace"), Text),
        literal(_parse_time(delivery.triggered_at), UTCDateTime()),
        literal(utcnow(), UTCDateTime()),
        literal(RECEIVED, String),
        literal(0, Integer),
    ).where(*shop_filter)
    columns = [
        "webhook_id", "shop_id", "shop_domain", "topic", "api_version", "payload",
        "triggered_at", "received_at", "status", "attempts",
    ]  # fmt: skip
    return (
        upsert_insert(WebhookEvent)
        .from_select(columns, values)
        .on_conflict_do_nothing(index_elements=["webhook_id"])
        .returning(WebhookEvent.id)
    )
