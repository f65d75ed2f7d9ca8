"""The loyalty program's own rows: the rewards a shopper can buy with points, and what they bought.

A redemption is written (points deducted) before Shopify is asked for its code, so a double
submit or a worker killed in between finds the row and finishes it: the code is created once
(its code string is drawn up front and Shopify refuses a second one with the same code), or the
redemption fails and its points come back.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint, false, text
from sqlalchemy.orm import Mapped, mapped_column

from shopify_app.platform.models.base import Base, BigIntegerPK, ShopOwned, TimestampMixin

#: a redemption's states: points deducted and the code being created; the code exists;
#: Shopify refused (or it never could be created) and the points came back.
REDEMPTION_PENDING, REDEMPTION_ISSUED, REDEMPTION_FAILED = "pending", "issued", "failed"


class LoyaltyReward(ShopOwned, TimestampMixin, Base):
    """A catalogue entry: N points buy an amount off or a percentage off."""

    __tablename__ = "loyalty_rewards"
    __table_args__ = (Index("ix_loyalty_rewards_shop_id_points_cost", "shop_id", "points_cost"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(120))
    points_cost: Mapped[int] = mapped_column(BigInteger)
    #: percentage or fixed_amount, as referral offers.
    kind: Mapped[str] = mapped_column(String(16))
    #: percent, or minor units of the shop currency.
    value: Mapped[int] = mapped_column(BigInteger)
    min_order_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    active: Mapped[bool] = mapped_column(default=True)


class Redemption(ShopOwned, TimestampMixin, Base):
    """Points spent on a reward, and the one-time discount code they bought."""

    __tablename__ = "redemptions"
    __table_args__ = (
        # The shopper's form carries a request id: a double submit finds the first redemption.
        UniqueConstraint("shop_id", "customer_id", "request_id"),
        UniqueConstraint("shop_id", "code"),
        Index("ix_redemptions_customer_id_id", "customer_id", "id"),
        Index("ix_redemptions_shop_id_status_updated_at", "shop_id", "status", "updated_at"),
    )

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    reward_id: Mapped[int | None] = mapped_column(
        ForeignKey("loyalty_rewards.id", ondelete="SET NULL")
    )
    request_id: Mapped[str] = mapped_column(String(64))
    #: what was bought, copied so a later edit of the catalogue does not change it.
    title: Mapped[str] = mapped_column(String(120))
    points: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(16))
    value: Mapped[int] = mapped_column(BigInteger)
    min_order_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    code: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default=REDEMPTION_PENDING)
    discount_gid: Mapped[str | None] = mapped_column(String(255))
    attempts: Mapped[int] = mapped_column(default=0)
    #: what the shopper is told when Shopify refused the code (never raw API text).
    error: Mapped[str | None] = mapped_column(Text)
    used_at: Mapped[datetime | None]
    used_order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="SET NULL"))


class PointBalance(ShopOwned, Base):
    """Per customer: the balance, when points last moved (for expiry), the reminder, and the
    metafield's value.

    Narrow on purpose: earning, redeeming, expiry, imports and the metafield sync update it
    without rewriting the wide, heavily indexed customers row, and the customers table's
    points sort walks its (shop_id, balance, customer_id) index.
    """

    __tablename__ = "point_balances"
    __table_args__ = (
        Index("ix_point_balances_shop_id_balance_customer_id", "shop_id", "balance", "customer_id"),
        Index("ix_point_balances_shop_id_last_activity_at", "shop_id", "last_activity_at"),
        # Only the lagging rows: the sync walks them in customer order.
        Index(
            "ix_point_balances_shop_id_customer_id_dirty",
            "shop_id",
            "customer_id",
            postgresql_where=text("metafield_dirty"),
            sqlite_where=text("metafield_dirty"),
        ),
    )

    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True
    )
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    balance: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    #: the last earning or redemption (not an expiry): points expire N months after it.
    last_activity_at: Mapped[datetime | None]
    #: the reminder for the expiry that follows last_activity_at was sent.
    reminded_at: Mapped[datetime | None]
    #: the balance the metafield holds, and whether it lags behind the ledger.
    metafield_value: Mapped[int | None] = mapped_column(BigInteger)
    metafield_dirty: Mapped[bool] = mapped_column(default=False, server_default=false())
