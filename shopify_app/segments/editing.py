"""Creating, changing and deleting segments as the merchant does on the Segments pages."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, func, insert, literal, select, update

from shopify_app.platform.extensions import db
from shopify_app.platform.models import Customer, ProgramSettings, Segment, SegmentMember, Shop
from shopify_app.platform.models.segment import DYNAMIC, STATIC


class DuplicateSegmentName(ValueError):
    """Another segment of the shop already has that name."""


def _check_name(shop: Shop, name: str, segment: Segment | None) -> str:
    cleaned = " ".join(name.split())
    query = select(Segment.id).where(
        Segment.shop_id == shop.id, func.lower(Segment.name) == cleaned.lower()
    )
    if segment is not None:
        query = query.where(Segment.id != segment.id)
    if db.session.execute(query).first() is not None:
        raise DuplicateSegmentName(
            f"A segment named “{cleaned}” exists already: choose another name."
        )
    return cleaned


def save_dynamic_segment(
    shop: Shop, segment: Segment | None, *, name: str, match: str, rules: list[dict[str, Any]]
) -> Segment:
    """Create (segment None) or change a dynamic segment; its members follow its rules."""
    cleaned = _check_name(shop, name, segment)
    if segment is None:
        segment = Segment(shop_id=shop.id, kind=DYNAMIC)
        db.session.add(segment)
    if segment.kind != DYNAMIC:
        raise ValueError("only dynamic segments have rules")
    segment.name, segment.match, segment.rules = cleaned, match, rules
    db.session.flush()
    return segment


def create_static_segment(shop: Shop, name: str, customer_ids: Iterable[int]) -> Segment:
    """A static segment of the chosen customers (those of this shop; others are ignored)."""
    segment = Segment(shop_id=shop.id, kind=STATIC, name=_check_name(shop, name, None))
    db.session.add(segment)
    db.session.flush()
    chosen = select(literal(segment.id), Customer.id, literal(shop.id)).where(
        Customer.shop_id == shop.id, Customer.id.in_(list(dict.fromkeys(customer_ids)))
    )
    db.session.execute(
        insert(SegmentMember).from_select(["segment_id", "customer_id", "shop_id"], chosen)
    )
    return segment


def delete_segment(shop: Shop, segment: Segment) -> None:
    """Delete the segment (its member rows and enrolment log go with it; customers stay)."""
    if segment.shop_id != shop.id:
        raise ValueError("segment belongs to another shop")
    db.session.execute(
        update(ProgramSettings)
        .where(
            ProgramSettings.shop_id == shop.id, ProgramSettings.audience_segment_id == segment.id
        )
        .values(audience_segment_id=None)
    )
    db.session.execute(
        delete(SegmentMember).where(
            SegmentMember.shop_id == shop.id, SegmentMember.segment_id == segment.id
        )
    )
    db.session.delete(segment)
    db.session.flush()
