"""Static segments: named lists of customers that contact imports fill and invitations target."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, func, select

from shopify_app.platform.extensions import db
from shopify_app.platform.models import Segment, SegmentMember, Shop

MAX_NAME = 255


class InvalidSegmentName(ValueError):
    """A segment name is empty or too long."""


@dataclass(frozen=True)
class SegmentSummary:
    id: int
    name: str
    members: int


def segment_choices(shop: Shop) -> list[tuple[int, str]]:
    """(id, name) of the shop's segments by name, for a form's segment picker."""
    return [
        (row.id, row.name)
        for row in db.session.execute(
            select(Segment.id, Segment.name)
            .where(Segment.shop_id == shop.id)
            .order_by(func.lower(Segment.name), Segment.id)
        )
    ]


def list_segments(shop: Shop) -> list[SegmentSummary]:
    """The shop's segments with their member counts, by name."""
    counts = (
        select(SegmentMember.segment_id, func.count().label("members"))
        .where(SegmentMember.shop_id == shop.id)
        .group_by(SegmentMember.segment_id)
        .subquery()
    )
    rows = db.session.execute(
        select(Segment.id, Segment.name, func.coalesce(counts.c.members, 0))
        .outerjoin(counts, counts.c.segment_id == Segment.id)
        .where(Segment.shop_id == shop.id)
        .order_by(func.lower(Segment.name))
    )
    return [SegmentSummary(id_, name, members) for id_, name, members in rows]


def find_segment(shop: Shop, segment_id: int) -> Segment | None:
    return db.session.execute(
        select(Segment).where(Segment.id == segment_id, Segment.shop_id == shop.id)
    ).scalar_one_or_none()


def get_or_create_segment(shop: Shop, name: str) -> Segment:
    """The shop's segment of that name (compared without case or outer spaces), made if new."""
    cleaned = " ".join(name.split())
    if not cleaned:
        raise InvalidSegmentName("Give the new segment a name.")
    if len(cleaned) > MAX_NAME:
        raise InvalidSegmentName(f"Segment names are at most {MAX_NAME} characters.")
    segment = db.session.execute(
        select(Segment).where(
            Segment.shop_id == shop.id, func.lower(Segment.name) == cleaned.lower()
        )
    ).scalar_one_or_none()
    if segment is None:
        segment = Segment(shop_id=shop.id, name=cleaned)
        db.session.add(segment)
        db.session.flush()
    return segment


def member_ids(shop: Shop, segment: Segment) -> Select[tuple[int]]:
    """The members of a static segment, as a SELECT of customer ids (scoped to the shop)."""
    return select(SegmentMember.customer_id).where(
        SegmentMember.segment_id == segment.id, SegmentMember.shop_id == shop.id
    )
