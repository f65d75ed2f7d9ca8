"""Segments: static ones are named lists that imports fill and the merchant picks by hand;
dynamic ones are rules the app compiles to one SQL query whenever their members are needed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shopify_app.platform.models.base import Base, ShopOwned, TimestampMixin, utcnow

STATIC, DYNAMIC = "static", "dynamic"


class Segment(ShopOwned, TimestampMixin, Base):
    __tablename__ = "segments"
    __table_args__ = (UniqueConstraint("shop_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    is_program_audience: Mapped[bool] = mapped_column(default=False)
    #: static (members are rows of segment_members) or dynamic (members match `rules`).
    kind: Mapped[str] = mapped_column(String(16), default=STATIC, server_default=STATIC)
    #: a dynamic segment's conditions, as the segment editor saves them.
    rules: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    #: all or any of the rules.
    match: Mapped[str] = mapped_column(String(8), default="all", server_default="all")


class SegmentMember(ShopOwned, Base):
    __tablename__ = "segment_members"

    segment_id: Mapped[int] = mapped_column(
        ForeignKey("segments.id", ondelete="CASCADE"), primary_key=True
    )
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)


class SegmentEnrolment(ShopOwned, Base):
    """A customer the program enrolled because they were in its audience segment, and when.

    Its key makes targeting idempotent: a member is enrolled from a segment once, however
    often the sweep looks, and the segment page lists who arrived when.
    """

    __tablename__ = "segment_enrolments"
    __table_args__ = (
        Index("ix_segment_enrolments_segment_id_enrolled_at", "segment_id", "enrolled_at"),
    )

    segment_id: Mapped[int] = mapped_column(
        ForeignKey("segments.id", ondelete="CASCADE"), primary_key=True
    )
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    enrolled_at: Mapped[datetime] = mapped_column(default=utcnow)
