"""This month's figures for the home page: what referrals brought, what rewards cost, joins.

The month is the shop's calendar month in its own time zone, so an order at 23:30 local on
the last day counts in that month wherever the server runs. The figures use the metrics
page's definitions (`metrics.queries`), so the two pages always agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import func, select

from shopify_app.metrics.buckets import natural_period
from shopify_app.metrics.queries import (
    Figures,
    bounds,
    completed_referrals,
    used_rewards,
)
from shopify_app.platform.extensions import db
from shopify_app.platform.models import Customer, Shop
from shopify_app.platform.shops import shop_zone


@dataclass(frozen=True)
class MonthFigures:
    first: date
    last: date  # the month's last day
    today: date  # the shop's today: the figures run to now
    figures: Figures
    #: customers who joined the program this month.
    joined: int

    @property
    def name(self) -> str:
        return self.first.strftime("%B %Y")


def this_month(shop: Shop, now: datetime | None = None) -> MonthFigures:
    """The figures of the shop's current month (local), from its first day to now."""
    today = (now or datetime.now(UTC)).astimezone(shop_zone(shop)).date()
    first_day, last_day = natural_period(today, "month")
    first, after = bounds(shop, first_day, last_day)
    figures = Figures()
    for count, revenue in completed_referrals(shop, first, after).values():
        figures.successful_referrals += count
        figures.referee_revenue_minor += revenue
    for _, revenue, cost in used_rewards(shop, first, after).values():
        figures.referrer_revenue_minor += revenue
        figures.reward_cost_minor += cost
    joined = db.session.scalar(
        select(func.count()).where(
            Customer.shop_id == shop.id,
            Customer.joined_at >= first,
            Customer.joined_at < after,
            Customer.deleted_at.is_(None),
        )
    )
    return MonthFigures(first_day, last_day, today, figures, int(joined or 0))
