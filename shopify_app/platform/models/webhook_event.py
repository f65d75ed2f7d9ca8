"""Webhook deliveries, stored before they are queued so none that got a 2xx is ever lost."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shopify_app.platform.models.base import Base, BigIntegerPK, ShopOwned, utcnow

RECEIVED, PROCESSING, PROCESSED, FAILED = "received", "processing", "processed", "failed"


class WebhookEvent(ShopOwned, Base):
    __tablename__ = "webhook_events"
    __table_args__ = (Index("ix_webhook_events_status_received_at", "status", "received_at"),)

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    #: X-Shopify-Webhook-Id (or Event-Id): the dedupe key across repeated deliveries.
    webhook_id: Mapped[str] = mapped_column(String(255), unique=True)
    shop_id: Mapped[int | None] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    shop_domain: Mapped[str] = mapped_column(String(255))
    topic: Mapped[str] = mapped_column(String(64))
    api_version: Mapped[str | None] = mapped_column(String(16))
    payload: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=RECEIVED)
    attempts: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)
    #: when a worker claimed it; a claim older than the lease is presumed dead and re-run.
    claimed_at: Mapped[datetime | None]
    triggered_at: Mapped[datetime | None]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[datetime | None]
