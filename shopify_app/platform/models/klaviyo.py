"""A shop's Klaviyo connection, and per customer what Klaviyo was last sent.

No outbox: Klaviyo holds state (a profile's properties) plus one event per enrolment, so the
sync compares each enrolled customer with what was last sent (`KlaviyoProfile`) and sends
the difference. Ten balance changes while Klaviyo is down become one update; nothing is
queued that could be lost or sent twice, and the ledger's hot path writes nothing for it.
The one thing queued is an erasure (`KlaviyoDeletion`): once the customer's row is blanked,
only it still knows which profile Klaviyo must delete.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shopify_app.platform.models.base import Base, ShopOwned, utcnow

#: the connection's states: syncing; Klaviyo refused the key (401) or a scope (403).
CONNECTED, KEY_REFUSED, SCOPE_MISSING = "connected", "key_refused", "scope_missing"


class KlaviyoConnection(ShopOwned, Base):
    """The shop's private API key (encrypted like Shopify's tokens) and the sync's health."""

    __tablename__ = "klaviyo_connections"

    shop_id: Mapped[int] = mapped_column(
        ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True
    )
    api_key_encrypted: Mapped[str] = mapped_column(Text)
    #: the key's last four characters, so the page can say which key is stored.
    key_hint: Mapped[str] = mapped_column(String(8))
    account_name: Mapped[str] = mapped_column(String(255), default="")
    #: a Klaviyo flow sends the invitations; the app sends none of its own.
    klaviyo_sends_invitations: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(16), default=CONNECTED)
    connected_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: failed syncs in a row (Klaviyo down), and when the next may start (backoff, Retry-After).
    failures: Mapped[int] = mapped_column(default=0)
    retry_at: Mapped[datetime | None]
    #: what went wrong last, in the merchant's words.
    last_error: Mapped[str | None] = mapped_column(Text)
    last_synced_at: Mapped[datetime | None]


class KlaviyoProfile(ShopOwned, Base):
    """What Klaviyo holds of one enrolled customer: the properties sent and the enrolment
    whose "Joined Referral Program" event went out."""

    __tablename__ = "klaviyo_profiles"
    __table_args__ = (Index("ix_klaviyo_profiles_shop_id_customer_id", "shop_id", "customer_id"),)

    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True
    )
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    balance: Mapped[int] = mapped_column(BigInteger)
    referral_code: Mapped[str | None] = mapped_column(String(32))
    #: the customer's `joined_at` when their event was sent (a new enrolment sends another).
    joined_at: Mapped[datetime | None]
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)


class KlaviyoDeletion(ShopOwned, Base):
    """A redacted customer's profile that Klaviyo still has to delete (Data Privacy API).

    The email is all that is kept, and only until Klaviyo accepted the deletion job: the
    customer's own row is blanked at redaction, so without it the profile would stay.
    """

    __tablename__ = "klaviyo_deletions"
    __table_args__ = (Index("ix_klaviyo_deletions_shop_id_email", "shop_id", "email", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(320))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
