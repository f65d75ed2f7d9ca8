"""Targeting a segment: what enrolling its members will do, counted before anything is done.

The counts use the same predicates the batch job applies: `program.joinable` for who joins
and `selection.count_by_reason` for who is emailed, over the same selection, so the
confirmation the merchant reads is what then happens.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from shopify_app.invitations.selection import INVITE, SKIP_REASONS, Selection, count_by_reason
from shopify_app.platform.extensions import db
from shopify_app.platform.models import Customer, Segment, Shop
from shopify_app.program import config as program
from shopify_app.segments import store as segments


def audience_selection(segment: Segment) -> Selection:
    """The selection the audience step enrols (and invites): every member of the segment."""
    return Selection(segment_id=segment.id, enrol=True)


@dataclass(frozen=True)
class EnrolmentPlan:
    """Who joins and who is emailed if the merchant confirms now."""

    members: int
    joining: int
    already_joined: int
    send: bool
    #: emailed an invitation now (0 when the merchant did not ask to send).
    invited: int
    #: members who get no email, by reason (SKIP_REASONS), when sending.
    not_invited: dict[str, int]


def plan_enrolment(shop: Shop, segment: Segment, *, send: bool) -> EnrolmentPlan:
    """Count the segment's members, those who would join, and those who would be emailed."""
    by_reason = count_by_reason(shop, audience_selection(segment))
    members = segments.member_ids(shop, segment).scalar_subquery()
    joining, already = db.session.execute(
        select(
            func.count().filter(program.joinable(shop)),
            func.count().filter(Customer.joined_at.is_not(None)),
        ).where(Customer.shop_id == shop.id, Customer.id.in_(members))
    ).one()
    return EnrolmentPlan(
        members=sum(by_reason.values()),
        joining=int(joining),
        already_joined=int(already),
        send=send,
        invited=by_reason.get(INVITE, 0) if send else 0,
        not_invited={k: by_reason[k] for k in SKIP_REASONS if by_reason.get(k)} if send else {},
    )
