"""Who an Invite selection names, and who of them it invites or skips, and why.

The dialog's counts, the batch job's inserts and the audience step's confirmation all read
the same SQL CASE (`skip_reason`) over the same selection, so what the merchant is told is
what then happens. One invitation per customer: anyone invited before (unless that failed)
is skipped, so no one is invited twice by accident; "Resend" is explicit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, case, exists, func, or_, select
from sqlalchemy.orm import aliased

from shopify_app.customers.queries import matching_customer_ids
from shopify_app.platform.errors import NotFound
from shopify_app.platform.extensions import db
from shopify_app.platform.models import Customer, Invitation, Segment, Shop
from shopify_app.platform.models.invitation import FAILED
from shopify_app.segments import store as segments

INVITE = "invite"
#: why a selected customer gets no invitation, in the order the reasons are checked.
SKIP_REASONS = {
    "deleted": "Deleted in Shopify",
    "unsubscribed": "Unsubscribed from invitations",
    "no_email": "No email address",
    "already_invited": "Already invited",
    "already_joined": "Already joined the program",
}
MAX_EXPLICIT_IDS = 5000
MATCHING_FILTERS = ("status", "program", "q", "segment")


class InvalidSelection(ValueError):
    """The Invite request names no customers, or names them in a way we cannot use."""


@dataclass(frozen=True)
class Selection:
    """Who to invite: explicit ids, every customer matching the table's filters, or a segment.

    `enrol` is the audience step: members join in the same step, so being joined already is
    no reason to skip them.
    """

    customer_ids: tuple[int, ...] = ()
    matching: Mapping[str, str] | None = None
    segment_id: int | None = None
    enrol: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "customer_ids": list(self.customer_ids),
            "matching": dict(self.matching) if self.matching is not None else None,
            "segment_id": self.segment_id,
            "enrol": self.enrol,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Selection:
        return cls(
            customer_ids=tuple(int(i) for i in data.get("customer_ids") or ()),
            matching=data.get("matching"),
            segment_id=data.get("segment_id"),
            enrol=bool(data.get("enrol")),
        )

    def query_args(self) -> list[tuple[str, str]]:
        """The same selection as request parameters (the dialog's form posts them back)."""
        if self.segment_id is not None:
            return [("segment_id", str(self.segment_id))]
        if self.matching is not None:
            return [("matching", "1"), *((k, v) for k, v in self.matching.items())]
        return [("customer_id", str(i)) for i in self.customer_ids]


def parse_selection(args: Any) -> Selection:
    """A Selection from request args/form (a MultiDict); raises InvalidSelection."""
    if args.get("segment_id"):
        if not str(args["segment_id"]).isdigit():
            raise InvalidSelection("That segment does not exist.")
        return Selection(segment_id=int(args["segment_id"]))
    if args.get("matching") == "1":
        return Selection(matching={k: args[k] for k in MATCHING_FILTERS if args.get(k)})
    raw = args.getlist("customer_id")
    if not raw:
        raise InvalidSelection("Select at least one customer to invite.")
    if len(raw) > MAX_EXPLICIT_IDS:
        raise InvalidSelection("Too many customers selected; use “select all matching”.")
    if not all(value.isdigit() for value in raw):
        raise InvalidSelection("The selection contains an invalid customer id.")
    return Selection(customer_ids=tuple(dict.fromkeys(int(v) for v in raw)))


def selected_ids(shop: Shop, selection: Selection) -> Select:
    """The selection as a SELECT of customer ids, always within the shop."""
    if selection.segment_id is not None:
        segment = db.session.execute(
            select(Segment).where(Segment.id == selection.segment_id, Segment.shop_id == shop.id)
        ).scalar_one_or_none()
        if segment is None:
            raise NotFound("segment not found")
        return segments.member_ids(shop, segment)
    if selection.matching is not None:
        return matching_customer_ids(shop, selection.matching)
    return select(Customer.id).where(
        Customer.shop_id == shop.id, Customer.id.in_(selection.customer_ids)
    )


def skip_reason(shop: Shop, enrol: bool):
    """SQL CASE naming why a customer is skipped, or INVITE."""
    other = aliased(Invitation)
    invited = exists().where(
        other.shop_id == shop.id, other.customer_id == Customer.id, other.status != FAILED
    )
    whens = [
        (or_(Customer.deleted_at.is_not(None), Customer.redacted_at.is_not(None)), "deleted"),
        (Customer.unsubscribed.is_(True), "unsubscribed"),
        (Customer.email_key.is_(None), "no_email"),
        (invited, "already_invited"),
    ]
    if not enrol:
        whens.append((Customer.joined_at.is_not(None), "already_joined"))
    return case(*whens, else_=INVITE)


def in_selection(shop: Shop, selection: Selection):
    """SQL condition: the customer is one of the shop's customers the selection names."""
    return and_(
        Customer.shop_id == shop.id,
        Customer.id.in_(selected_ids(shop, selection).scalar_subquery()),
    )


def count_by_reason(shop: Shop, selection: Selection) -> dict[str, int]:
    """How many of the selection would be invited (INVITE) and skipped, per reason."""
    reason = skip_reason(shop, selection.enrol)
    rows = db.session.execute(
        select(reason, func.count())
        .select_from(Customer)
        .where(in_selection(shop, selection))
        .group_by(reason)
    ).all()
    return {name: count for name, count in rows}
