"""The log of who a program audience segment enrolled, and when (`segment_enrolments`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import literal, select

from shopify_app.platform.db import upsert_insert
from shopify_app.platform.extensions import db
from shopify_app.platform.models import Customer, Segment, SegmentEnrolment, Shop
from shopify_app.platform.models.base import utcnow

SHOWN = 50


@dataclass(frozen=True)
class Enrolment:
    customer_id: int
    name: str
    enrolled_at: datetime


def record_enrolments(shop: Shop, segment_id: int, customer_ids: Sequence[int]) -> None:
    """Note that the segment enrolled these customers now (a customer noted before stays)."""
    now = utcnow()
    for start in range(0, len(customer_ids), 1000):
        chunk = customer_ids[start : start + 1000]
        rows = select(
            literal(segment_id),
            Customer.id,
            literal(shop.id),
            literal(now, SegmentEnrolment.enrolled_at.type),
        ).where(Customer.shop_id == shop.id, Customer.id.in_(chunk))
        db.session.execute(
            upsert_insert(SegmentEnrolment)
            .from_select(["segment_id", "customer_id", "shop_id", "enrolled_at"], rows)
            .on_conflict_do_nothing()
        )


def recent_enrolments(shop: Shop, segment: Segment, limit: int = SHOWN) -> list[Enrolment]:
    """The latest customers the segment enrolled, newest first."""
    rows = db.session.execute(
        select(
            Customer.id,
            Customer.first_name,
            Customer.last_name,
            Customer.email,
            SegmentEnrolment.enrolled_at,
        )
        .join(Customer, Customer.id == SegmentEnrolment.customer_id)
        .where(SegmentEnrolment.shop_id == shop.id, SegmentEnrolment.segment_id == segment.id)
        .order_by(SegmentEnrolment.enrolled_at.desc(), Customer.id.desc())
        .limit(limit)
    )
    return [
        Enrolment(id_, f"{first} {last}".strip() or email or f"Customer {id_}", at)
        for id_, first, last, email, at in rows
    ]


def count_enrolments(shop: Shop, segment: Segment) -> int:
    return db.session.execute(
        select(db.func.count()).where(
            SegmentEnrolment.shop_id == shop.id, SegmentEnrolment.segment_id == segment.id
        )
    ).scalar_one()
