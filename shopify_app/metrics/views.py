"""Blueprint "metrics": referral revenue, reward cost and their return, over time, as a CSV."""

from __future__ import annotations

from flask import Blueprint, Response, flash, g, render_template, request

from shopify_app.metrics.charts import bar_chart
from shopify_app.metrics.export import series_csv
from shopify_app.metrics.queries import (
    InvalidRange,
    MetricsReport,
    RangeChoice,
    metrics_report,
    parse_range,
    percent_change,
    today_for,
)
from shopify_app.platform.auth.guards import shop_required
from shopify_app.platform.models import Shop
from shopify_app.platform.money import format_money

bp = Blueprint("metrics", __name__)


def _choice(warn: bool) -> RangeChoice:
    """The range the request asks for; a bad one falls back to the default (with a banner)."""
    today = today_for(g.shop)
    try:
        return parse_range(request.args, today)
    except InvalidRange as error:
        if warn:
            flash(str(error), "critical")
        return parse_range({}, today)


def charts(shop: Shop, report: MetricsReport) -> list:
    """Counts and money on separate charts, each with an axis of its own."""

    def money(minor: int) -> str:
        return format_money(minor, shop.currency, shop.locale)

    series = report.series
    return [
        bar_chart(
            "chart-referrals",
            "Successful referrals",
            report.buckets,
            [("Successful referrals", series["successful_referrals"])],
            lambda n: f"{n:,}",
        ),
        bar_chart(
            "chart-money",
            "Revenue and reward cost",
            report.buckets,
            [
                ("Referee revenue", series["referee_revenue_minor"]),
                ("Referrer revenue", series["referrer_revenue_minor"]),
                ("Reward cost", series["reward_cost_minor"]),
            ],
            money,
        ),
    ]


@bp.get("/metrics")
@shop_required
def index():
    report = metrics_report(g.shop, _choice(warn=True))
    return render_template(
        "metrics/index.html",
        report=report,
        charts=charts(g.shop, report),
        today=report.today,
        percent_change=percent_change,
    )


@bp.get("/metrics.csv")
@shop_required
def download():
    """The page's series for the same range parameters, one row per period."""
    report = metrics_report(g.shop, _choice(warn=False))
    period = report.period
    filename = f"referral-metrics-{period.start.isoformat()}-to-{period.end.isoformat()}.csv"
    return Response(
        series_csv(g.shop, report),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )
