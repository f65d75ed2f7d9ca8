"""Referral revenue metrics for a date range, the period before it, and over time.

Computed from the rows themselves (referrals, rewards, orders) with the definitions the page
shows, so they agree with the per-customer columns the table and export read:
- successful referral: a referral whose referee ordered with the code (status completed),
  dated by completed_at;
- referee revenue: the total of those referees' orders (Referral.order_total_minor);
- referrer revenue: orders paid with a reward the referrer earned, as the referral engine
  counts them (Reward.revenue_minor: the order's total, zero once it is reversed), dated by
  the order's payment (Reward.used_at, which the engine sets to Order.paid_at);
- conversion: of the referrals made in the period, the share completed; pending and blocked
  likewise count the period's referrals by their status now;
- referral revenue: referee revenue plus referrer revenue (distinct orders);
- reward cost: what the rewards used in the period took off their orders (`reward_cost`),
  nothing for an order that was cancelled or refunded since; return on reward spend is
  referral revenue divided by that cost.
Days are the shop's calendar days (its time zone).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import ColumnElement, Date, case, cast, func, literal, select

from shopify_app.metrics.buckets import Bucket, buckets_for
from shopify_app.platform.db import is_postgresql
from shopify_app.platform.extensions import db
from shopify_app.platform.models import Customer, Order, Referral, Reward, Shop
from shopify_app.platform.models.referral import BLOCKED, COMPLETED, PENDING, USED
from shopify_app.platform.shopify.discounts import PERCENTAGE
from shopify_app.platform.shops import shop_zone

PRESETS = {"7": 7, "30": 30, "90": 90, "365": 365}
DEFAULT_DAYS = 30
MAX_DAYS = 731
TOP_REFERRERS = 10
GRANULARITIES = ("day", "week", "month")
#: the series per bucket, in the order the CSV and the charts list them.
SERIES = (
    "successful_referrals",
    "referee_revenue_minor",
    "referrer_revenue_minor",
    "reward_cost_minor",
)


class InvalidRange(ValueError):
    """The chosen dates are not a usable range (unparseable, reversed or too long)."""


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Period:
        return Period(self.start - timedelta(days=self.days), self.start - timedelta(days=1))


@dataclass(frozen=True)
class RangeChoice:
    period: Period
    granularity: str  # "day", "week" or "month"
    preset: str | None


def today_for(shop: Shop, now: datetime | None = None) -> date:
    return (now or datetime.now(UTC)).astimezone(shop_zone(shop)).date()


def parse_range(args: Mapping[str, str], today: date) -> RangeChoice:
    """`range`=7|30|90|365 days ending today, or `start`/`end` dates; raises InvalidRange."""
    granularity = args.get("granularity") if args.get("granularity") in GRANULARITIES else None
    if args.get("start") or args.get("end"):
        try:
            start = date.fromisoformat(args.get("start") or "")
            end = date.fromisoformat(args.get("end") or "")
        except ValueError as error:
            raise InvalidRange("Enter both dates as YYYY-MM-DD.") from error
        if end < start:
            raise InvalidRange("The end date is before the start date.")
        if (end - start).days + 1 > MAX_DAYS:
            raise InvalidRange(f"Choose a range of at most {MAX_DAYS} days.")
        period, preset = Period(start, end), None
    else:
        preset = args.get("range") if args.get("range") in PRESETS else str(DEFAULT_DAYS)
        period = Period(today - timedelta(days=PRESETS[preset] - 1), today)
    granularity = granularity or (
        "month" if period.days > 184 else "week" if period.days > 92 else "day"
    )
    return RangeChoice(period, granularity, preset)


@dataclass
class Figures:
    successful_referrals: int = 0
    referee_revenue_minor: int = 0
    referrer_revenue_minor: int = 0
    referrals: int = 0
    pending: int = 0
    blocked: int = 0
    completed_of_period: int = 0
    reward_cost_minor: int = 0

    @property
    def referral_revenue_minor(self) -> int:
        return self.referee_revenue_minor + self.referrer_revenue_minor

    @property
    def return_on_spend(self) -> Decimal | None:
        """Referral revenue per unit of reward cost, one decimal; None while nothing was spent."""
        if not self.reward_cost_minor:
            return None
        ratio = Decimal(self.referral_revenue_minor) / Decimal(self.reward_cost_minor)
        return ratio.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)

    @property
    def conversion(self) -> Decimal | None:
        """Percent of the period's referrals that completed, one decimal; None without any."""
        if not self.referrals:
            return None
        share = Decimal(100 * self.completed_of_period) / Decimal(self.referrals)
        return share.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class TopReferrer:
    customer_id: int
    name: str
    successful_referrals: int
    referee_revenue_minor: int


@dataclass
class MetricsReport:
    choice: RangeChoice
    current: Figures
    previous: Figures
    today: date
    buckets: list[Bucket] = field(default_factory=list)
    series: dict[str, list[int]] = field(default_factory=dict)
    top_referrers: list[TopReferrer] = field(default_factory=list)

    @property
    def labels(self) -> list[str]:
        """Each bucket's first day (ISO), as the CSV's period_start column."""
        return [b.start.isoformat() for b in self.buckets]

    @property
    def period(self) -> Period:
        return self.choice.period


def bounds(shop: Shop, start: date, end: date) -> tuple[datetime, datetime]:
    """UTC instants of the shop-local [start 00:00, end + 1 day 00:00)."""
    zone = shop_zone(shop)
    first = datetime.combine(start, time(), zone).astimezone(UTC)
    after = datetime.combine(end + timedelta(days=1), time(), zone).astimezone(UTC)
    return first, after


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _daily(
    shop: Shop, stamp: Any, values: list[Any], conditions: list[Any]
) -> dict[date, tuple[int, ...]]:
    """Per shop-local day: a count and the sum of each of `values` over matching rows.

    PostgreSQL groups by the local date itself; other databases (the SQLite demo) have no
    time zone support, so their rows are bucketed here.
    """
    sums = [func.coalesce(func.sum(v), 0) for v in values]
    if is_postgresql():
        zone = literal(shop_zone(shop).key, literal_execute=True)
        utc = literal("UTC", literal_execute=True)
        day = cast(func.timezone(zone, func.timezone(utc, stamp)), Date)
        stmt = select(day, func.count(), *sums).where(*conditions).group_by(day)
        return {
            _as_date(d): (int(n), *(int(v) for v in rest))
            for d, n, *rest in db.session.execute(stmt)
        }
    zone = shop_zone(shop)
    result: dict[date, list[int]] = {}
    for when, *rest in db.session.execute(select(stamp, *values).where(*conditions)):
        local = when.replace(tzinfo=UTC).astimezone(zone).date()
        bucket = result.setdefault(local, [0] * (1 + len(values)))
        bucket[0] += 1
        for n, value in enumerate(rest, start=1):
            bucket[n] += int(value or 0)
    return {d: tuple(v) for d, v in result.items()}


def reward_cost() -> ColumnElement[int]:
    """What a used reward took off its order, in minor units; 0 once the order is reversed.

    A fixed amount is its value. A percentage is read back from the order's subtotal after
    discounts (the stored order keeps no amount per code): p% off a subtotal B leaves
    A = B(100 - p)/100, so the discount B·p/100 is A·p/(100 - p), the order's only discount
    assumed.
    """
    subtotal = (
        select(func.coalesce(Order.subtotal_minor, Order.total_minor))
        .where(Order.id == Reward.used_order_id)
        .scalar_subquery()
    )
    percent_off = subtotal * Reward.value // func.nullif(100 - Reward.value, 0)
    return case(
        (Reward.revenue_minor == 0, 0),
        (Reward.value_type == PERCENTAGE, func.coalesce(percent_off, 0)),
        else_=Reward.value,
    )


def used_rewards(shop: Shop, first: datetime, after: datetime) -> dict[date, tuple[int, ...]]:
    """Per local day: used rewards, the revenue of their orders and their cost."""
    return _daily(
        shop,
        Reward.used_at,
        [Reward.revenue_minor, reward_cost()],
        [
            Reward.shop_id == shop.id,
            Reward.status == USED,
            Reward.used_at >= first,
            Reward.used_at < after,
        ],
    )


def completed_referrals(
    shop: Shop, first: datetime, after: datetime
) -> dict[date, tuple[int, ...]]:
    """Per local day: referrals completed and their referees' order totals."""
    return _daily(
        shop,
        Referral.completed_at,
        [Referral.order_total_minor],
        [
            Referral.shop_id == shop.id,
            Referral.status == COMPLETED,
            Referral.completed_at >= first,
            Referral.completed_at < after,
        ],
    )


def metrics_report(shop: Shop, choice: RangeChoice, today: date | None = None) -> MetricsReport:
    """Figures for the period and the one before it, a series per bucket, top referrers."""
    period, previous = choice.period, choice.period.previous()
    first, after = bounds(shop, previous.start, period.end)

    completed = completed_referrals(shop, first, after)
    # The period's referrals by status now: totals only (the chart does not show them),
    # which spares a per-row time zone conversion.
    current_start = bounds(shop, period.start, period.end)[0]
    in_current = Referral.created_at >= current_start
    made: dict[bool, dict[str, int]] = {True: {}, False: {}}
    for status, current, previous_ in db.session.execute(
        select(
            Referral.status,
            func.count().filter(in_current),
            func.count().filter(~in_current),
        )
        .where(
            Referral.shop_id == shop.id,
            Referral.status.in_([PENDING, BLOCKED, COMPLETED]),
            Referral.created_at >= first,
            Referral.created_at < after,
        )
        .group_by(Referral.status)
    ):
        made[True][status], made[False][status] = int(current), int(previous_)
    # Rewards are dated by their order's payment (the engine copies Order.paid_at to used_at).
    referrer = used_rewards(shop, first, after)

    def figures(p: Period, current: bool) -> Figures:
        f = Figures()
        for offset in range(p.days):
            day = p.start + timedelta(days=offset)
            count, revenue = completed.get(day, (0, 0))
            f.successful_referrals += count
            f.referee_revenue_minor += revenue
            _, referrer_revenue, cost = referrer.get(day, (0, 0, 0))
            f.referrer_revenue_minor += referrer_revenue
            f.reward_cost_minor += cost
        by_status = made[current]
        f.referrals = sum(by_status.values())
        f.pending = by_status.get(PENDING, 0)
        f.blocked = by_status.get(BLOCKED, 0)
        f.completed_of_period = by_status.get(COMPLETED, 0)
        return f

    report = MetricsReport(
        choice, figures(period, True), figures(previous, False), today or today_for(shop)
    )
    _fill_series(report, completed, referrer)
    report.top_referrers = top_referrers(shop, *bounds(shop, period.start, period.end))
    return report


def _fill_series(
    report: MetricsReport,
    completed: dict[date, tuple[int, ...]],
    referrer: dict[date, tuple[int, ...]],
) -> None:
    period = report.period
    report.buckets = buckets_for(period.start, period.end, report.choice.granularity, report.today)
    series: dict[str, list[int]] = {name: [] for name in SERIES}
    for bucket in report.buckets:
        sums = [0] * len(SERIES)
        for offset in range(bucket.days):
            day = bucket.start + timedelta(days=offset)
            count, revenue = completed.get(day, (0, 0))
            _, referrer_revenue, cost = referrer.get(day, (0, 0, 0))
            for n, value in enumerate((count, revenue, referrer_revenue, cost)):
                sums[n] += value
        for name, value in zip(SERIES, sums, strict=True):
            series[name].append(value)
    report.series = series


def top_referrers(shop: Shop, first: datetime, after: datetime) -> list[TopReferrer]:
    """The customers whose referrals completed most in the period (revenue breaks ties)."""
    count = func.count().label("n")
    revenue = func.coalesce(func.sum(Referral.order_total_minor), 0).label("revenue")
    ranked = (
        select(Referral.referrer_id, count, revenue)
        .where(
            Referral.shop_id == shop.id,
            Referral.status == COMPLETED,
            Referral.completed_at >= first,
            Referral.completed_at < after,
        )
        .group_by(Referral.referrer_id)
        .order_by(count.desc(), revenue.desc(), Referral.referrer_id)
        .limit(TOP_REFERRERS)
        .subquery()
    )
    rows = db.session.execute(
        select(
            Customer.id,
            Customer.first_name,
            Customer.last_name,
            Customer.email,
            ranked.c.n,
            ranked.c.revenue,
        )
        .join(ranked, ranked.c.referrer_id == Customer.id)
        .where(Customer.shop_id == shop.id)
        .order_by(ranked.c.n.desc(), ranked.c.revenue.desc(), Customer.id)
    )
    return [
        TopReferrer(
            r.id,
            f"{r.first_name} {r.last_name}".strip() or r.email or f"#{r.id}",
            int(r.n),
            int(r.revenue),
        )
        for r in rows
    ]


def percent_change(current: int | Decimal | None, previous: int | Decimal | None) -> str | None:
    """The change beside a figure, like "+12.5%"; None when there is nothing to compare."""
    if current is None or previous is None or previous == 0:
        return None
    change = (Decimal(current) - Decimal(previous)) * 100 / Decimal(previous)
    change = change.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return f"{'+' if change > 0 else ''}{change}%"
