"""Segments: static lists that contact imports fill (or the merchant picks), and dynamic ones
whose members are the customers their rules match, both as one SQL condition on customers."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, and_, func, select

from shopify_app.platform.extensions import db
from shopify_app.platform.models import Customer, Segment, SegmentMember, Shop
from shopify_app.platform.models.segment import DYNAMIC, STATIC
from shopify_app.segments.rules import Compiled, compile_rules

MAX_NAME = 255


class InvalidSegmentName(ValueError):
    """A segment name is empty or too long."""


@dataclass(frozen=True)
class SegmentSummary:
    id: int
    name: str
    #: None for a dynamic segment listed without its count (see `list_segments`).
    members: int | None
    kind: str = STATIC
    is_program_audience: bool = False


def segment_choices(shop: Shop, kind: str | None = None) -> list[tuple[int, str]]:
    """(id, name) of the shop's segments (of one kind, if given) by name, for a picker."""
    query = select(Segment.id, Segment.name).where(Segment.shop_id == shop.id)
    if kind is not None:
        query = query.where(Segment.kind == kind)
    return [
        (row.id, row.name)
        for row in db.session.execute(query.order_by(func.lower(Segment.name), Segment.id))
    ]


def live_customers(shop: Shop) -> ColumnElement[bool]:
    """The shop's customers a segment counts: not deleted in Shopify, not erased."""
    return and_(
        Customer.shop_id == shop.id, Customer.deleted_at.is_(None), Customer.redacted_at.is_(None)
    )


def list_segments(
    shop: Shop, kind: str | None = STATIC, *, count_dynamic: bool = True
) -> list[SegmentSummary]:
    """The shop's segments (static ones unless told) with their member counts, by name.

    Static counts come from one grouped query; each dynamic segment is one count of its rules
    (about 170 ms at a million customers), so a page listing many asks for them afterwards
    (`count_dynamic=False`).
    """
    counts = (
        select(SegmentMember.segment_id, func.count().label("members"))
        .join(Customer, Customer.id == SegmentMember.customer_id)
        .where(SegmentMember.shop_id == shop.id, live_customers(shop))
        .group_by(SegmentMember.segment_id)
        .subquery()
    )
    query = (
        select(Segment, func.coalesce(counts.c.members, 0))
        .outerjoin(counts, counts.c.segment_id == Segment.id)
        .where(Segment.shop_id == shop.id)
        .order_by(func.lower(Segment.name), Segment.id)
    )
    if kind is not None:
        query = query.where(Segment.kind == kind)
    summaries = []
    for segment, members in db.session.execute(query).all():
        if segment.kind == DYNAMIC:
            members = count_members(shop, segment) if count_dynamic else None
        summaries.append(
            SegmentSummary(
                segment.id, segment.name, members, segment.kind, segment.is_program_audience
            )
        )
    return summaries


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


def membership(shop: Shop, segment: Segment, *, per_row: bool = False) -> Compiled:
    """The segment's members as a condition on `Customer`: its rows, or its compiled rules
    (`per_row`: shaped for a page of members, see `rules`)."""
    if segment.shop_id != shop.id:
        raise ValueError("segment belongs to another shop")
    if segment.kind == DYNAMIC:
        return compile_rules(shop, segment.rules, segment.match, per_row=per_row)
    rows = select(SegmentMember.customer_id).where(
        SegmentMember.segment_id == segment.id, SegmentMember.shop_id == shop.id
    )
    return Compiled(and_(Customer.shop_id == shop.id, Customer.id.in_(rows)))


def member_ids(shop: Shop, segment: Segment) -> Select[tuple[int]]:
    """The segment's members, as a SELECT of customer ids (scoped to the shop).

    A static segment names its rows (deleted customers too: invitations say why they skip
    them); a dynamic one, the live customers its rules match.
    """
    if segment.kind == DYNAMIC:
        return select(Customer.id).where(membership(shop, segment).condition, live_customers(shop))
    return select(SegmentMember.customer_id).where(
        SegmentMember.segment_id == segment.id, SegmentMember.shop_id == shop.id
    )


def count_members(shop: Shop, segment: Segment) -> int:
    """How many live customers the segment holds."""
    return count_matching(shop, membership(shop, segment))


def count_matching(shop: Shop, compiled: Compiled) -> int:
    """How many live customers a compiled condition matches (the editor's live count)."""
    return db.session.execute(
        select(func.count()).select_from(Customer).where(compiled.condition, live_customers(shop))
    ).scalar_one()
