"""A shop is the tenant: every other row hangs off one."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shopify_app.platform.models.base import Base, TimestampMixin, utcnow


class Shop(TimestampMixin, Base):
    __tablename__ = "shops"

    id: Mapped[int] = mapped_column(primary_key=True)
    domain: Mapped[str] = mapped_column(String(255), unique=True)
    shopify_id: Mapped[int | None]
    name: Mapped[str] = mapped_column(String(255), default="")
    email: Mapped[str | None] = mapped_column(String(320))
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    locale: Mapped[str] = mapped_column(String(16), default="en")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    scopes: Mapped[str] = mapped_column(String(1000), default="")

    # Offline tokens, encrypted at rest (shopify_app.platform.shopify.token_store).
    access_token_encrypted: Mapped[str | None] = mapped_column(Text)
    access_token_expires_at: Mapped[datetime | None]
    refresh_token_encrypted: Mapped[str | None] = mapped_column(Text)
    refresh_token_expires_at: Mapped[datetime | None]

    installed_at: Mapped[datetime | None]
    uninstalled_at: Mapped[datetime | None]

    # Initial customer sync, polled by the home page.
    sync_status: Mapped[str] = mapped_column(String(20), default="idle")
    sync_cursor: Mapped[str | None] = mapped_column(Text)
    sync_done: Mapped[int] = mapped_column(default=0)
    sync_total: Mapped[int | None]
    sync_error: Mapped[str | None] = mapped_column(Text)
    synced_at: Mapped[datetime | None]
    #: times the sweeper resumed a stalled sync since it was (re)started; it gives up at
    #: sweeps.MAX_ATTEMPTS. The sync's job ids name it, so a replaced job does nothing.
    sync_attempts: Mapped[int] = mapped_column(default=0, server_default="0")

    @property
    def is_installed(self) -> bool:
        return self.uninstalled_at is None and self.access_token_encrypted is not None

    @property
    def handle(self) -> str:
        """The store handle used in admin.shopify.com URLs."""
        return self.domain.removesuffix(".myshopify.com")

    def admin_url(self, path: str = "") -> str:
        return f"https://admin.shopify.com/store/{self.handle}/{path.lstrip('/')}"


class OAuthState(Base):
    """A one-time OAuth `state`: consumed by the callback, so a replayed callback fails."""

    __tablename__ = "oauth_states"

    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    shop_domain: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    used_at: Mapped[datetime | None]
