"""Invitations: one per customer, sent by a worker, so no one is invited twice by accident."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shopify_app.platform.models.base import Base, BigIntegerPK, ShopOwned, TimestampMixin

QUEUED, SENDING, SENT, FAILED = "queued", "sending", "sent", "failed"
#: an invitation batch is preparing (choosing who to invite), then done.
BATCH_PREPARING, BATCH_DONE = "preparing", "done"


class InvitationBatch(ShopOwned, TimestampMixin, Base):
    __tablename__ = "invitation_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    total: Mapped[int] = mapped_column(default=0)
    sent: Mapped[int] = mapped_column(default=0)
    failed: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(16), default=QUEUED)
    finished_at: Mapped[datetime | None]
    #: who to invite: {"customer_ids": […]}, {"matching": {filters}} or {"segment_id": N, …}.
    selection: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: what preparing the batch found: skipped counts by reason, customers enrolled.
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime | None]


class Invitation(ShopOwned, TimestampMixin, Base):
    __tablename__ = "invitations"
    __table_args__ = (
        Index("ix_invitations_shop_id_customer_id", "shop_id", "customer_id"),
        # One invitation per customer: a second batch re-queues a failed one, never duplicates.
        Index("uq_invitations_shop_id_customer_id", "shop_id", "customer_id", unique=True),
        Index("ix_invitations_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    batch_id: Mapped[int | None] = mapped_column(
        ForeignKey("invitation_batches.id", ondelete="SET NULL"), index=True
    )
    email: Mapped[str | None] = mapped_column(String(320))
    status: Mapped[str] = mapped_column(String(16), default=QUEUED)
    attempts: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None]
    next_attempt_at: Mapped[datetime | None]
    #: when a worker claimed it for sending; a claim that never finished is not re-sent blindly.
    claimed_at: Mapped[datetime | None]
