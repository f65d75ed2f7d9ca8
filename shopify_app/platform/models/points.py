"""The points ledger: every change to a balance is a row, so history and reverts are exact.

The ledger has no foreign keys: an import writes a million rows, and a key check per row cost
more than a third of the time. Rows are only written by statements that join the shop's live
customer, and shop/redact deletes the ledger before the customers.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from shopify_app.platform.models.base import Base, BigIntegerPK, ShopOwned, utcnow


class PointsEntry(ShopOwned, Base):
    __tablename__ = "points_entries"
    __table_args__ = (
        # A row of an import is applied once, and reverted once, whatever retries happen.
        UniqueConstraint("import_id", "row_number", "source"),
        # An earning names its source (an order, a refund, a referral, an event): a repeated
        # or replayed webhook or a re-imported event finds its row and earns nothing twice.
        # Partial: the million rows of an import (no key) leave this index untouched.
        Index(
            "uq_points_entries_shop_id_source_key",
            "shop_id",
            "source_key",
            unique=True,
            postgresql_where=text("source_key IS NOT NULL"),
            sqlite_where=text("source_key IS NOT NULL"),
        ),
        Index("ix_points_entries_customer_id_id", "customer_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    shop_id: Mapped[int] = mapped_column(index=True)
    customer_id: Mapped[int]
    delta: Mapped[int] = mapped_column(BigInteger)
    balance_after: Mapped[int | None] = mapped_column(BigInteger)
    description: Mapped[str] = mapped_column(String(255), default="")
    #: where the change came from: import, import_revert, manual, order, refund, cancel,
    #: account, referral, event, redeem, redeem_refund, expiry.
    source: Mapped[str] = mapped_column(String(20))
    #: the source's own key, e.g. "order:5012345", "refund:9001", "referral:17:referrer".
    source_key: Mapped[str | None] = mapped_column(String(120))
    import_id: Mapped[int | None]
    row_number: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
