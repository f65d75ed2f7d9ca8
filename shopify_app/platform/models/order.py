"""Orders as Shopify reports them: exact totals in minor units, and what refunds took back."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from shopify_app.platform.models.base import Base, BigIntegerPK, ShopOwned, TimestampMixin


class Order(ShopOwned, TimestampMixin, Base):
    __tablename__ = "orders"
    __table_args__ = (
        Index("uq_orders_shop_id_shopify_id", "shop_id", "shopify_id", unique=True),
        Index("ix_orders_shop_id_customer_id", "shop_id", "customer_id"),
    )

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    shopify_id: Mapped[int] = mapped_column(BigInteger)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"))
    shopify_customer_id: Mapped[int | None] = mapped_column(BigInteger)
    email: Mapped[str | None] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(64), default="")
    total_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    #: the subtotal after discounts, before tax, shipping and refunds, in the shop currency's
    #: minor units (the loyalty points' base); None when the payload did not say.
    subtotal_minor: Mapped[int | None] = mapped_column(BigInteger)
    refunded_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    discount_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    financial_status: Mapped[str] = mapped_column(String(32), default="pending")
    paid_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    processed_at: Mapped[datetime | None]
    shopify_updated_at: Mapped[datetime | None]
    raw: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    @property
    def net_minor(self) -> int:
        """What the order still counts for after refunds and cancellation."""
        if self.cancelled_at is not None:
            return 0
        return max(self.total_minor - self.refunded_minor, 0)


class Refund(ShopOwned, Base):
    __tablename__ = "refunds"
    __table_args__ = (
        Index("uq_refunds_shop_id_shopify_id", "shop_id", "shopify_id", unique=True),
        # The points a refund reverses are read per order (the order's earlier refunds).
        Index("ix_refunds_order_id", "order_id"),
    )

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    shopify_id: Mapped[int] = mapped_column(BigInteger)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    #: the refunded line items' subtotal in the shop currency's minor units; None for a refund
    #: of an amount only (its share of the order's points is then its share of the total).
    subtotal_minor: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime | None]
