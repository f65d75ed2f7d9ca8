"""Home's "This month": referral revenue, reward cost, their return and joins, in shop time."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from shopify_app.metrics.month import this_month
from shopify_app.platform.extensions import db
from tests.factories import make_customer, make_order, make_referral, make_reward
from tests.helpers import AdminClient, make_shop

#: Dec 31 2026, 23:45 in Los Angeles (UTC-8): already Jan 1 2027 in UTC.
NOW = datetime(2027, 1, 1, 7, 45, tzinfo=UTC)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def december(shop):
    """Referrals, rewards and joins around December's edges in Los Angeles time."""
    shop.timezone = "America/Los_Angeles"
    referrer = make_customer(shop)
    friends = [make_customer(shop, state="DISABLED") for _ in range(3)]
    # 23:30 local on Dec 31 (07:30 UTC on Jan 1): December's.
    make_referral(
        shop, referrer, friends[0], status="completed",
        completed_at=utc(2027, 1, 1, 7, 30), order_total_minor=10_000,
    )  # fmt: skip
    # 00:00 local on Dec 1: December's first instant.
    make_referral(
        shop, referrer, friends[1], status="completed",
        completed_at=utc(2026, 12, 1, 8), order_total_minor=5_000,
    )  # fmt: skip
    # 23:59 local on Nov 30: November's.
    make_referral(
        shop, referrer, friends[2], status="completed",
        completed_at=utc(2026, 12, 1, 7, 59), order_total_minor=7_777,
    )  # fmt: skip
    # A $10 reward used at 23:30 local on Dec 31; a 20% one on an $80 subtotal (so $20 off).
    make_reward(
        shop, referrer, value=1_000,
        used_order=make_order(shop, referrer, 4_000, paid_at=utc(2027, 1, 1, 7, 30)),
    )  # fmt: skip
    percent = make_reward(
        shop, referrer, value=20,
        used_order=make_order(shop, referrer, 8_800, subtotal_minor=8_000,
                              paid_at=utc(2026, 12, 15)),
    )  # fmt: skip
    percent.value_type = "percentage"
    # A reward whose order was refunded since: no revenue, no cost.
    refunded = make_reward(
        shop, referrer, value=5_000,
        used_order=make_order(shop, referrer, 9_999, paid_at=utc(2026, 12, 20)),
    )  # fmt: skip
    refunded.revenue_minor = 0
    # A $10 reward used on Nov 30 at 23:59 local: November's.
    make_reward(
        shop, referrer, value=1_000,
        used_order=make_order(shop, referrer, 3_000, paid_at=utc(2026, 12, 1, 7, 59)),
    )  # fmt: skip
    friends[0].joined_at = utc(2027, 1, 1, 7, 30)
    friends[1].joined_at = utc(2026, 12, 1, 7, 59)
    db.session.commit()
    return shop


def test_the_month_is_the_shops_local_month_to_its_last_minute(december):
    month = this_month(december, NOW)
    assert (month.first.isoformat(), month.last.isoformat()) == ("2026-12-01", "2026-12-31")
    assert month.today.isoformat() == "2026-12-31"  # already Jan 1 in UTC
    assert month.name == "December 2026"
    f = month.figures
    assert f.successful_referrals == 2 and f.referee_revenue_minor == 15_000
    assert f.referrer_revenue_minor == 12_800  # the refunded order counts 0
    assert f.referral_revenue_minor == 27_800
    assert f.reward_cost_minor == 3_000  # $10 fixed + 20% of $100 before the discount
    assert f.return_on_spend == Decimal("9.3")  # 278.00 / 30.00 = 9.27
    assert month.joined == 1  # Nov 30 23:59 local is November's


def test_a_month_without_reward_cost_has_no_ratio(december):
    month = this_month(december, utc(2026, 11, 15))  # November: a referral, a reward
    assert month.figures.referral_revenue_minor == 7_777 + 3_000
    assert month.figures.reward_cost_minor == 1_000
    january = this_month(december, utc(2027, 1, 2, 12))
    assert january.figures.reward_cost_minor == 0
    assert january.figures.return_on_spend is None


def test_home_shows_this_months_figures_in_the_shops_currency(client, shopify_double, ctx):
    shop = make_shop(shopify_double, "laboutique.myshopify.com")
    shop.currency, shop.locale, shop.timezone = "EUR", "fr", "Europe/Paris"
    referrer = make_customer(shop, joined_at=datetime.now(UTC) - timedelta(minutes=5))
    make_referral(
        shop, referrer, make_customer(shop), status="completed",
        completed_at=datetime.now(UTC) - timedelta(minutes=1), order_total_minor=123_456,
    )  # fmt: skip
    make_reward(shop, referrer, value=3_000, used_order=make_order(shop, referrer, 0))
    db.session.commit()
    html = AdminClient(client, shop.domain, shopify_double).get("/").get_data(as_text=True)
    month = datetime.now(UTC).astimezone(ZoneInfo("Europe/Paris"))
    assert f'This month <span class="p-text-subdued">({month:%B %Y}, to date, Europe/Paris)' in html
    assert "1\u202f234,56\xa0€" in html  # Babel's French euros, no reward yet this month
    assert "—" in html and "No reward used yet this month: nothing spent so far." in html
    # "View metrics" opens the month to date, whose cards agree with home's
    link = re.search(r'href="(/metrics\?[^"]*)">View metrics', html)[1].replace("&amp;", "&")
    assert f"start={month:%Y-%m}-01" in link and f"end={month:%Y-%m-%d}" in link
    metrics = client.get(link).get_data(as_text=True)
    card = re.search(r"Referral revenue</h2>.*?</section>", metrics, re.S)[0]
    assert "1\u202f234,56\xa0€" in card


def test_home_figures_never_count_another_shops_referrals(admin, shop, shopify_double):
    other = make_shop(shopify_double, "other-shop.myshopify.com")
    x = make_customer(other)
    make_referral(
        other, x, make_customer(other), status="completed",
        completed_at=datetime.now(UTC) - timedelta(minutes=1), order_total_minor=99_999,
    )  # fmt: skip
    make_reward(other, x, used_order=make_order(other, x, 5_000, paid_at=datetime.now(UTC)))
    db.session.commit()
    month = this_month(shop)
    assert month.figures.referral_revenue_minor == month.figures.reward_cost_minor == 0
    html = admin.get("/").get_data(as_text=True)
    assert "$999.99" not in html and "$50.00" not in html
    assert "No referral orders or rewards used yet this month." in html
