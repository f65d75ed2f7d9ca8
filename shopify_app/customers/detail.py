"""Everything the customer detail page shows, gathered as plain data in a few queries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import aliased

from shopify_app.customers.activity import EventsPage, events_of
from shopify_app.customers.attributes import AttributeItem, customer_attributes
from shopify_app.loyalty.redeeming import RedemptionItem, redemptions_of
from shopify_app.platform.extensions import db
from shopify_app.platform.models import Customer, Order, PointsEntry, Referral, Reward, Shop
from shopify_app.platform.shops import get_for_shop_or_404
from shopify_app.referrals.links import referral_link

ACTIVITY_LIMIT = 50
POINTS_PAGE = 50


@dataclass(frozen=True)
class ReferralItem:
    id: int
    referee_id: int | None
    referee_name: str
    status: str
    block_reason: str | None
    order_name: str | None
    order_total_minor: int | None
    created_at: datetime
    completed_at: datetime | None


@dataclass(frozen=True)
class RewardItem:
    code: str
    value_type: str
    value: int
    status: str
    order_name: str | None
    created_at: datetime
    used_at: datetime | None


@dataclass(frozen=True)
class PointsItem:
    id: int
    created_at: datetime
    description: str
    source: str
    delta: int
    balance_after: int | None


@dataclass(frozen=True)
class CustomerDetail:
    customer: Customer
    shopify_admin_url: str | None
    referral_link: str | None
    referred_by: tuple[int, str] | None
    referrals: list[ReferralItem]
    rewards: list[RewardItem]
    points: list[PointsItem]
    #: the ledger id to pass as `points_before` for the next (older) page of history.
    older_points_before: int | None
    #: rewards bought with points, newest first.
    redemptions: list[RedemptionItem] = field(default_factory=list)
    #: imported attributes, formatted by type.
    attributes: list[AttributeItem] = field(default_factory=list)
    #: imported events, newest first, one page.
    events: EventsPage = field(default_factory=lambda: EventsPage([], None))

    @property
    def referral_revenue_minor(self) -> int:
        """Referral revenue: what referees spent plus what the customer spent with rewards."""
        return self.customer.referrer_revenue_minor + self.customer.referee_revenue_minor


def _name(first: str | None, last: str | None, email: str | None) -> str:
    return f"{first or ''} {last or ''}".strip() or email or ""


def customer_detail(
    shop: Shop,
    customer_id: int,
    *,
    points_before: int | None = None,
    events_before: int | None = None,
) -> CustomerDetail:
    """The customer (404 outside the shop) with referrals, rewards, points and events."""
    customer = get_for_shop_or_404(Customer, customer_id, shop)
    referee = aliased(Customer)
    referrals = [
        ReferralItem(
            id=r.id,
            referee_id=r.referee_id,
            referee_name=_name(r.first_name, r.last_name, r.email) or r.referee_email or "—",
            status=r.status,
            block_reason=r.block_reason,
            order_name=r.name,
            order_total_minor=r.order_total_minor,
            created_at=r.created_at,
            completed_at=r.completed_at,
        )
        for r in db.session.execute(
            select(
                Referral.id,
                Referral.referee_id,
                Referral.referee_email,
                Referral.status,
                Referral.block_reason,
                Referral.order_total_minor,
                Referral.created_at,
                Referral.completed_at,
                referee.first_name,
                referee.last_name,
                referee.email,
                Order.name,
            )
            .outerjoin(referee, referee.id == Referral.referee_id)
            .outerjoin(Order, Order.id == Referral.order_id)
            .where(Referral.shop_id == shop.id, Referral.referrer_id == customer.id)
            .order_by(Referral.created_at.desc(), Referral.id.desc())
            .limit(ACTIVITY_LIMIT)
        )
    ]
    rewards = [
        RewardItem(
            code=r.code,
            value_type=r.value_type,
            value=r.value,
            status=r.status,
            order_name=r.name,
            created_at=r.created_at,
            used_at=r.used_at,
        )
        for r in db.session.execute(
            select(
                Reward.code,
                Reward.value_type,
                Reward.value,
                Reward.status,
                Reward.created_at,
                Reward.used_at,
                Order.name,
            )
            .outerjoin(Order, Order.id == Reward.used_order_id)
            .where(Reward.shop_id == shop.id, Reward.customer_id == customer.id)
            .order_by(Reward.id.desc())
            .limit(ACTIVITY_LIMIT)
        )
    ]
    points_query = (
        select(PointsEntry)
        .where(PointsEntry.shop_id == shop.id, PointsEntry.customer_id == customer.id)
        .order_by(PointsEntry.id.desc())
        .limit(POINTS_PAGE + 1)
    )
    if points_before is not None:
        points_query = points_query.where(PointsEntry.id < points_before)
    entries = db.session.execute(points_query).scalars().all()
    points = [
        PointsItem(e.id, e.created_at, e.description, e.source, e.delta, e.balance_after)
        for e in entries[:POINTS_PAGE]
    ]
    referrer = aliased(Customer)
    by = db.session.execute(
        select(referrer.id, referrer.first_name, referrer.last_name, referrer.email)
        .join(Referral, Referral.referrer_id == referrer.id)
        .where(Referral.shop_id == shop.id, Referral.referee_id == customer.id)
        .order_by(Referral.id)
        .limit(1)
    ).first()
    return CustomerDetail(
        customer=customer,
        shopify_admin_url=(
            shop.admin_url(f"customers/{customer.shopify_id}") if customer.shopify_id else None
        ),
        referral_link=referral_link(shop, customer),
        referred_by=(by.id, _name(by.first_name, by.last_name, by.email)) if by else None,
        referrals=referrals,
        rewards=rewards,
        points=points,
        older_points_before=points[-1].id if len(entries) > POINTS_PAGE else None,
        redemptions=redemptions_of(shop, customer.id, ACTIVITY_LIMIT),
        attributes=customer_attributes(shop, customer),
        events=events_of(shop, customer.id, before=events_before),
    )
