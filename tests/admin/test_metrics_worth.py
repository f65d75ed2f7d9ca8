"""Metrics that answer "was it worth it": cost, return on spend, partial periods, the CSV."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from shopify_app.metrics.queries import metrics_report, parse_range, today_for
from shopify_app.platform.extensions import db
from tests.admin.conftest import figure, utc
from tests.factories import make_customer, make_order, make_referral, make_reward
from tests.helpers import make_shop

WEEK = {"start": "2026-03-10", "end": "2026-03-16"}


def rows(response) -> list[dict[str, str]]:
    assert response.status_code == 200 and response.mimetype == "text/csv"
    return list(csv.DictReader(io.StringIO(response.get_data().decode("utf-8-sig"))))


def test_reward_cost_and_return_on_spend_of_the_period_and_the_one_before(activity):
    shop, *_ = activity
    report = metrics_report(shop, parse_range(WEEK, date.today()))
    cur, prev = report.current, report.previous
    assert cur.referral_revenue_minor == 63_000 + 4_550
    assert cur.reward_cost_minor == 1_000  # a's $10 reward; the reversed order's costs nothing
    assert cur.return_on_spend == Decimal("67.6")  # 675.50 / 10.00 = 67.55
    assert (prev.referral_revenue_minor, prev.reward_cost_minor) == (3_000, 1_000)
    assert prev.return_on_spend == Decimal("3.0")
    assert report.series["reward_cost_minor"] == [1_000, 0, 0, 0, 0, 0, 0]


def test_the_page_shows_revenue_cost_and_return_in_full_rows(activity, admin):
    html = admin.get("/metrics", query_string=WEEK).get_data(as_text=True)
    for label, value in [
        ("Referral revenue", "$675.50"),
        ("Reward cost", "$10.00"),
        ("Return on reward spend", "67.6×"),
    ]:
        card = re.search(rf"<h2 class=\"p-metric__label\">{label}</h2>.*?</section>", html, re.S)
        assert card and value in card[0], label
    # nine cards on a grid of three columns: full rows, no orphan card
    assert 'class="p-grid app-metrics-grid app-metrics-grid--3"' in html
    assert html.count('class="p-card p-metric"') == 9
    assert "+2151.7%" in html  # the return, 67.6× against 3.0×


def test_a_period_without_reward_cost_shows_no_ratio_but_says_why(activity, admin):
    html = admin.get("/metrics", query_string={"start": "2026-03-13", "end": "2026-03-13"})
    html = html.get_data(as_text=True)
    card = re.search(r"Return on reward spend</h2>.*?</section>", html, re.S)[0]
    assert "—" in card and "No reward was used in this period" in card
    assert "$500.00" in html  # c's referee order: revenue without any reward cost


def test_the_current_period_is_drawn_hatched_and_labelled_to_date(admin, shop):
    shop.timezone = "Pacific/Auckland"  # far from UTC: the shop's own today
    referrer = make_customer(shop)
    now = datetime.now(UTC)
    make_referral(
        shop, referrer, make_customer(shop), status="completed",
        completed_at=now - timedelta(minutes=2), order_total_minor=4_200,
    )  # fmt: skip
    db.session.commit()
    today = today_for(shop)
    response = admin.get("/metrics", query_string={"range": "90", "granularity": "month"})
    html = response.get_data(as_text=True)
    money = figure(html, "chart-money")
    last = re.findall(r"<rect class=\"app-chart__bar app-chart__series-0([^\"]*)\"[^>]*"
                      r"height=\"([\d.]+)\"[^>]*><title>([^<]*)</title>", money)[-1]  # fmt: skip
    assert "app-chart__bar--partial" in last[0] and float(last[1]) > 0
    assert last[2] == f"{today:%b %Y} (to date): Referee revenue $42.00"
    assert "(to date)</tspan>" in money and f'<th scope="row">{today:%b %Y} (to date)</th>' in money
    # the first month is cut by the range: partial too, and says from when
    assert re.search(r"\(from [A-Z][a-z]{2} \d+\)</tspan>", money)
    report = metrics_report(shop, parse_range({"range": "90", "granularity": "month"}, today))
    assert report.buckets[-1].to_date and report.series["referee_revenue_minor"][-1] == 4_200


def test_a_day_range_cut_before_its_month_ends_is_partial_not_to_date(activity):
    shop, *_ = activity
    choice = parse_range({"start": "2026-03-01", "end": "2026-03-16", "granularity": "month"},
                         date(2026, 12, 3))  # fmt: skip
    report = metrics_report(shop, choice, today=date(2026, 12, 3))
    (march,) = report.buckets
    assert (march.label, march.partial, march.to_date) == ("Mar 2026 (to Mar 16)", True, False)
    assert report.series["successful_referrals"] == [report.current.successful_referrals] == [4]


def test_the_csv_is_the_pages_series_with_plain_decimals_and_the_currency(activity, admin):
    shop, *_ = activity
    query = {"start": "2026-03-01", "end": "2026-03-31", "granularity": "week"}
    table = rows(admin.get("/metrics.csv", query_string=query))
    report = metrics_report(shop, parse_range(query, date.today()))
    assert [r["period_start"] for r in table] == report.labels
    assert table[0]["period"] == "Week of Feb 23 (from Mar 1)" and table[0]["partial"] == "yes"
    assert table[1]["partial"] == "no" and table[-1]["period_end"] == "2026-03-31"
    assert {r["currency"] for r in table} == {"USD"}
    cur = report.current
    assert sum(int(r["successful_referrals"]) for r in table) == cur.successful_referrals
    for column, minor in [
        ("referee_revenue", cur.referee_revenue_minor),
        ("referrer_revenue", cur.referrer_revenue_minor),
        ("referral_revenue", cur.referral_revenue_minor),
        ("reward_cost", cur.reward_cost_minor),
    ]:
        assert sum(Decimal(r[column]) for r in table) == Decimal(minor) / 100, column
    assert all(re.fullmatch(r"\d+\.\d\d", r["referral_revenue"]) for r in table)


def test_the_csv_of_a_week_matches_the_pages_cards(activity, admin):
    html = admin.get("/metrics", query_string=WEEK).get_data(as_text=True)
    assert 'href="/metrics.csv?' in html and "Download CSV" in html
    table = rows(admin.get("/metrics.csv", query_string={**WEEK, "granularity": "day"}))
    assert len(table) == 7
    revenue = sum(Decimal(r["referral_revenue"]) for r in table)
    cost = sum(Decimal(r["reward_cost"]) for r in table)
    assert f"${revenue:,}" == "$675.50" and "$675.50" in html
    assert f"${cost:,}" == "$10.00" and "$10.00" in html


def test_another_shops_rewards_never_count_in_the_cost(activity, shopify_double, admin):
    shop, *_ = activity
    other = make_shop(shopify_double, "other-shop.myshopify.com")
    x = make_customer(other)
    make_reward(other, x, value=7_000, used_order=make_order(other, x, 20_000,
                                                             paid_at=utc(2026, 3, 12)))  # fmt: skip
    db.session.commit()
    report = metrics_report(shop, parse_range(WEEK, date.today()))
    assert report.current.reward_cost_minor == 1_000
    table = rows(admin.get("/metrics.csv", query_string=WEEK))
    assert sum(Decimal(r["reward_cost"]) for r in table) == Decimal("10.00")
