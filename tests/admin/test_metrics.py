"""Metrics against a hand-computed fixture: local-day edges, previous period, agreement."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from shopify_app.metrics.queries import InvalidRange, metrics_report, parse_range
from shopify_app.platform.extensions import db
from shopify_app.platform.models import Customer
from tests.admin.conftest import figure, utc
from tests.factories import make_customer, make_referral
from tests.helpers import make_shop


def test_figures_match_the_hand_computed_period_and_previous_period(activity):
    shop, a, b, c = activity
    report = metrics_report(
        shop, parse_range({"start": "2026-03-10", "end": "2026-03-16"}, date.today())
    )
    cur, prev = report.current, report.previous
    assert cur.successful_referrals == 3  # r0 at the first instant, r2 at the last, c's
    assert cur.referee_revenue_minor == 63_000
    assert cur.referrer_revenue_minor == 4_550  # the reversed order counts 0, b's is after
    assert (cur.referrals, cur.completed_of_period, cur.pending, cur.blocked) == (6, 4, 1, 1)
    assert cur.conversion == Decimal("66.7")
    assert prev.successful_referrals == 1 and prev.referee_revenue_minor == 2_000
    assert prev.referrer_revenue_minor == 1_000
    assert (prev.referrals, prev.completed_of_period, prev.pending, prev.blocked) == (3, 1, 2, 0)
    assert prev.conversion == Decimal("33.3")
    assert [
        (t.customer_id, t.successful_referrals, t.referee_revenue_minor)
        for t in report.top_referrers
    ] == [(a.id, 2, 13_000), (c.id, 1, 50_000)]
    assert report.labels[0] == "2026-03-10" and len(report.labels) == 7
    series = report.series
    assert series["successful_referrals"] == [1, 0, 0, 1, 0, 0, 1]
    assert series["referee_revenue_minor"] == [10_000, 0, 0, 50_000, 0, 0, 3_000]
    assert series["referrer_revenue_minor"] == [4_550, 0, 0, 0, 0, 0, 0]


def test_weekly_series_sum_to_the_period_figures(activity):
    shop, *_ = activity
    choice = parse_range(
        {"start": "2026-03-01", "end": "2026-03-31", "granularity": "week"}, date.today()
    )
    report = metrics_report(shop, choice)
    first = report.buckets[0]  # the week of Monday Feb 23, cut to the range: partial
    assert (first.start, first.partial) == (date(2026, 3, 1), True)
    assert first.label == "Week of Feb 23 (from Mar 1)"
    assert report.buckets[1].start == date(2026, 3, 2) and not report.buckets[1].partial
    assert sum(report.series["successful_referrals"]) == report.current.successful_referrals == 5
    assert sum(report.series["referee_revenue_minor"]) == report.current.referee_revenue_minor


def test_all_time_metrics_agree_with_the_table_and_the_export(activity, admin):
    shop, *_ = activity
    report = metrics_report(
        shop, parse_range({"start": "2025-06-01", "end": "2026-12-31"}, date.today())
    )
    sums = db.session.execute(
        select(
            func.sum(Customer.successful_referrals),
            func.sum(Customer.referee_revenue_minor),
            func.sum(Customer.referrer_revenue_minor),
        ).where(Customer.shop_id == shop.id)
    ).one()
    assert (
        tuple(sums)
        == (
            report.current.successful_referrals,
            report.current.referee_revenue_minor,
            report.current.referrer_revenue_minor,
        )
        == (5, 72_777, 6_350)
    )
    body = admin.get("/customers/export.csv").get_data().decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(body)))
    assert sum(int(r["Successful referrals"]) for r in rows) == 5
    assert sum(Decimal(r["Referee revenue (USD)"]) for r in rows) == Decimal("727.77")
    assert sum(Decimal(r["Referrer revenue (USD)"]) for r in rows) == Decimal("63.50")


def test_metrics_page_shows_figures_definitions_chart_and_top_referrers(activity, admin):
    response = admin.get("/metrics", query_string={"start": "2026-03-10", "end": "2026-03-16"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "$630.00" in html and "$45.50" in html and "66.7%" in html
    assert "Referee ordered with the referral code" in html
    assert "Orders by referrers paid with rewards they earned" in html
    assert "Orders by referees with the referral discount" in html
    assert "+200.0%" in html  # 3 successful referrals against 1
    counts, money = figure(html, "chart-referrals"), figure(html, "chart-money")
    assert "<title>Mar 13: Successful referrals 1</title>" in counts
    assert "Referee revenue" not in counts and "$" not in counts  # counts apart from money
    assert "<title>Mar 13: Referee revenue $500.00</title>" in money
    assert '<td class="p-table__num">$500.00</td>' in money  # the table fallback
    assert "Ada A" in html and "Cy C" in html


@pytest.mark.parametrize(
    "args",
    [
        {"start": "2026-03-10", "end": "2026-03-01"},
        {"start": "nope", "end": "2026-03-01"},
        {"start": "2020-01-01", "end": "2026-01-01"},
    ],
)
def test_a_bad_range_is_explained_and_the_default_shown(admin, shop, args):
    with pytest.raises(InvalidRange):
        parse_range(args, date(2026, 3, 1))
    response = admin.get("/metrics", query_string=args)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "p-banner--critical" in html and "Last 30 days" in html


def test_another_shops_referrals_are_not_counted(activity, shopify_double):

    shop, *_ = activity
    other = make_shop(shopify_double, "other-shop.myshopify.com")
    x, y = make_customer(other), make_customer(other)
    make_referral(
        other,
        x,
        y,
        status="completed",
        created_at=utc(2026, 3, 11),
        completed_at=utc(2026, 3, 11, 12),
        order_total_minor=99_999,
    )
    db.session.commit()
    report = metrics_report(
        shop, parse_range({"start": "2026-03-10", "end": "2026-03-16"}, date.today())
    )
    assert report.current.successful_referrals == 3
    assert all(t.customer_id != x.id for t in report.top_referrers)
