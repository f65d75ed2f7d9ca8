"""Referrals, the rewards they earn, and the shop's program settings."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from shopify_app.platform.models.base import Base, BigIntegerPK, ShopOwned, TimestampMixin

PENDING, BLOCKED, COMPLETED = "pending", "blocked", "completed"
USED, UNUSED, VOID = "used", "unused", "void"


class Referral(ShopOwned, TimestampMixin, Base):
    __tablename__ = "referrals"
    __table_args__ = (
        Index("ix_referrals_shop_id_referrer_id", "shop_id", "referrer_id"),
        Index("ix_referrals_shop_id_status_created_at", "shop_id", "status", "created_at"),
        Index("ix_referrals_shop_id_discount_code", "shop_id", "discount_code"),
        Index("ix_referrals_order_id", "order_id"),
        # The detail page's activity: a customer's newest referrals, read in order.
        Index(
            "ix_referrals_shop_id_referrer_id_created_at",
            "shop_id",
            "referrer_id",
            "created_at",
            "id",
        ),
        # Metrics: completed referrals by completion date.
        Index(
            "ix_referrals_shop_id_completed_at",
            "shop_id",
            "completed_at",
            postgresql_include=["referrer_id", "order_total_minor"],
            postgresql_where=text("status = 'completed'"),
            sqlite_where=text("status = 'completed'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    referrer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    referee_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    referee_email: Mapped[str | None] = mapped_column(String(320))
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    block_reason: Mapped[str | None] = mapped_column(String(255))
    #: the referee's one-time discount code created in Shopify.
    discount_code: Mapped[str | None] = mapped_column(String(64))
    #: the DiscountCodeNode gid of that code, when Shopify created it.
    discount_shopify_id: Mapped[str | None] = mapped_column(String(255))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="SET NULL"))
    order_total_minor: Mapped[int | None] = mapped_column(BigInteger)
    completed_at: Mapped[datetime | None]


class Reward(ShopOwned, TimestampMixin, Base):
    __tablename__ = "rewards"
    __table_args__ = (
        Index("uq_rewards_shop_id_code", "shop_id", "code", unique=True),
        Index("uq_rewards_referral_id", "referral_id", unique=True),
        Index("ix_rewards_used_order_id", "used_order_id"),
        Index("ix_rewards_shopify_status", "shopify_status"),
        # The detail page's activity: a customer's newest rewards, read in order.
        Index("ix_rewards_customer_id_id", "customer_id", "id"),
        # Metrics: used rewards by the date they were used, with what their revenue and cost
        # are computed from (an index-only scan; the order is read for percentages only).
        Index(
            "ix_rewards_shop_id_used_at",
            "shop_id",
            "used_at",
            postgresql_include=["revenue_minor", "value_type", "value", "used_order_id"],
            postgresql_where=text("status = 'used'"),
            sqlite_where=text("status = 'used'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    referral_id: Mapped[int | None] = mapped_column(ForeignKey("referrals.id", ondelete="SET NULL"))
    code: Mapped[str] = mapped_column(String(64))
    shopify_discount_id: Mapped[str | None] = mapped_column(String(255))
    value_type: Mapped[str] = mapped_column(String(16), default="fixed_amount")
    #: percent (0-100) or amount in minor units, per value_type.
    value: Mapped[int] = mapped_column(BigInteger, default=0)
    status: Mapped[str] = mapped_column(String(16), default=UNUSED)
    used_order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="SET NULL"))
    used_at: Mapped[datetime | None]
    #: the using order's total as counted in the referrer's revenue; 0 once that order reverses.
    revenue_minor: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    #: pending (Shopify must be brought in line) → synced | failed (retried by the sweep) | offline.
    shopify_status: Mapped[str] = mapped_column(
        String(16), default="pending", server_default="pending"
    )
    shopify_attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    shopify_error: Mapped[str | None] = mapped_column(Text)


class ProgramSettings(ShopOwned, TimestampMixin, Base):
    """One row per shop; defaults make the program work right after install."""

    __tablename__ = "program_settings"

    shop_id: Mapped[int] = mapped_column(
        ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True
    )
    referee_offer_type: Mapped[str] = mapped_column(String(16), default="percentage")
    referee_offer_value: Mapped[int] = mapped_column(default=10)
    reward_type: Mapped[str] = mapped_column(String(16), default="fixed_amount")
    #: percent, or minor units for fixed amounts.
    reward_value: Mapped[int] = mapped_column(default=1000)
    min_order_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    email_subject: Mapped[str] = mapped_column(
        String(255), default="{shop_name} invites you to refer a friend"
    )
    email_body: Mapped[str] = mapped_column(
        Text,
        default=(
            "Hi {first_name},\n\nShare your link with friends: they get {referee_offer} "
            "their first order and you get {referrer_reward}.\n\n{referral_link}\n"
        ),
    )
    audience_segment_id: Mapped[int | None] = mapped_column(
        ForeignKey("segments.id", ondelete="SET NULL")
    )
    #: whether members who join the audience later are invited too, as the merchant chose.
    audience_invites: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    #: {"fr": {"subject": …, "body": …}}: the email in locales other than the shop's own.
    email_translations: Mapped[dict[str, dict[str, str]] | None] = mapped_column(JSON)

    # The loyalty program: each earning rule off or on with its value (off by default, so
    # installing the app changes no balance until the merchant chooses).
    earn_orders: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    #: points per whole unit of the shop currency on paid orders' subtotal after discounts.
    earn_per_unit: Mapped[int] = mapped_column(default=1, server_default="1")
    earn_account: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    account_points: Mapped[int] = mapped_column(default=100, server_default="100")
    earn_referral: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    referrer_points: Mapped[int] = mapped_column(default=500, server_default="500")
    referee_points: Mapped[int] = mapped_column(default=0, server_default="0")
    earn_events: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    #: {"review_posted": 50}: points per imported event of that name.
    event_points: Mapped[dict[str, int] | None] = mapped_column(JSON)
    expiry: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    expiry_months: Mapped[int] = mapped_column(default=12, server_default="12")
    expiry_reminder_days: Mapped[int] = mapped_column(default=14, server_default="14")
    #: when the merchant last saved the Program form (page or CLI): the home guide's first step.
    saved_at: Mapped[datetime | None]
