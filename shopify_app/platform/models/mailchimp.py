"""A shop's Mailchimp connection, and the reads of its audiences into a contacts import."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shopify_app.platform.models.base import Base, ShopOwned, TimestampMixin

#: queued → running → done | failed | broken; interrupted (network) → running again.
FETCH_QUEUED, FETCH_RUNNING, FETCH_INTERRUPTED = "queued", "running", "interrupted"
FETCH_DONE, FETCH_FAILED, FETCH_BROKEN = "done", "failed", "broken"


class MailchimpConnection(ShopOwned, TimestampMixin, Base):
    """One Mailchimp account per shop; the OAuth token is encrypted like Shopify's."""

    __tablename__ = "mailchimp_connections"
    __table_args__ = (Index("uq_mailchimp_connections_shop_id", "shop_id", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    access_token_encrypted: Mapped[str] = mapped_column(Text)
    #: the account's data center (`us6`): the API lives at MAILCHIMP_API_BASE with it.
    dc: Mapped[str] = mapped_column(String(16))
    account_name: Mapped[str] = mapped_column(String(255))
    login_email: Mapped[str | None] = mapped_column(String(255))
    #: set when Mailchimp answered 401 (token revoked): the merchant must reconnect.
    broken_at: Mapped[datetime | None]


class MailchimpFetch(ShopOwned, TimestampMixin, Base):
    """Audiences read page by page into a staged contacts CSV, then a contacts import.

    `position` is where a resumed read starts: the audience, its offset, and the staged
    file's length at that point, committed together with the counts after every pages.
    """

    __tablename__ = "mailchimp_fetches"
    __table_args__ = (
        Index("ix_mailchimp_fetches_shop_id_id", "shop_id", "id"),
        Index("ix_mailchimp_fetches_status_heartbeat_at", "status", "heartbeat_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    segment_id: Mapped[int | None] = mapped_column(ForeignKey("segments.id", ondelete="SET NULL"))
    #: [{"id", "name", "members"}] in the order they are read.
    audiences: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default=FETCH_QUEUED)
    position: Mapped[dict[str, int]] = mapped_column(JSON)
    #: members read, rows staged, and the skipped ones by reason.
    read: Mapped[int] = mapped_column(default=0)
    staged: Mapped[int] = mapped_column(default=0)
    skipped: Mapped[dict[str, int]] = mapped_column(JSON)
    staging_path: Mapped[str] = mapped_column(String(1024))
    import_id: Mapped[int | None] = mapped_column(ForeignKey("import_jobs.id", ondelete="SET NULL"))
    error_message: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(default=0)
    heartbeat_at: Mapped[datetime | None]
