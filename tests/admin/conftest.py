"""The metrics pages' fixture: a hand-computed week of referrals and rewards in New York."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from shopify_app.platform.extensions import db
from tests.factories import make_customer, make_order, make_referral, make_reward


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def figure(html: str, chart_id: str) -> str:
    """One server-drawn chart of the page: its SVG and its table."""
    return re.search(rf'<figure[^>]*aria-labelledby="{chart_id}-title".*?</figure>', html, re.S)[0]


@pytest.fixture
def activity(shop):
    """Shop in New York (EDT, UTC-4, from March 8 2026). Period: Mar 10-16; previous: Mar 3-9.

    Local midnight of Mar 10 is 04:00 UTC; the period ends before Mar 17 04:00 UTC.
    """
    shop.timezone = "America/New_York"
    a = make_customer(shop, first_name="Ada", last_name="A")
    b = make_customer(shop, first_name="Bob", last_name="B")
    c = make_customer(shop, first_name="Cy", last_name="C")
    referees = [make_customer(shop, state="DISABLED") for _ in range(8)]
    r = referees
    # completed: (referrer, referee, created, completed, total)
    make_referral(
        shop,
        a,
        r[0],
        status="completed",
        created_at=utc(2026, 3, 10, 5),
        completed_at=utc(2026, 3, 10, 4),
        order_total_minor=10_000,
    )  # first instant: in
    make_referral(
        shop,
        b,
        r[1],
        status="completed",
        created_at=utc(2026, 3, 5),
        completed_at=utc(2026, 3, 10, 3, 59, 59),
        order_total_minor=2_000,
    )  # previous
    make_referral(
        shop,
        a,
        r[2],
        status="completed",
        created_at=utc(2026, 3, 12),
        completed_at=utc(2026, 3, 17, 3, 59, 59),
        order_total_minor=3_000,
    )  # last: in
    make_referral(
        shop,
        b,
        r[3],
        status="completed",
        created_at=utc(2026, 3, 16, 12),
        completed_at=utc(2026, 3, 17, 4),
        order_total_minor=7_777,
    )  # just after: out
    make_referral(
        shop,
        c,
        r[4],
        status="completed",
        created_at=utc(2026, 3, 13),
        completed_at=utc(2026, 3, 13, 15),
        order_total_minor=50_000,
    )
    make_referral(shop, a, r[5], status="pending", created_at=utc(2026, 3, 11))
    make_referral(shop, c, r[6], status="pending", created_at=utc(2026, 3, 4))  # previous
    make_referral(
        shop,
        b,
        r[7],
        status="blocked",
        created_at=utc(2026, 3, 15),
        block_reason="The referee had already ordered before",
    )
    make_referral(shop, a, None, status="pending", created_at=utc(2026, 3, 10, 3))  # previous
    # rewards used: (owner, paid_at, total); a reversed order keeps status used, revenue 0
    make_reward(shop, a, used_order=make_order(shop, a, 4_550, paid_at=utc(2026, 3, 10, 4)))
    make_reward(shop, b, used_order=make_order(shop, b, 800, paid_at=utc(2026, 3, 17, 4)))
    make_reward(shop, c, used_order=make_order(shop, c, 1_000, paid_at=utc(2026, 3, 9, 12)))
    reversed_reward = make_reward(
        shop, a, used_order=make_order(shop, a, 9_999, paid_at=utc(2026, 3, 14))
    )
    reversed_reward.revenue_minor = 0
    make_reward(shop, b)  # unused
    # The referral engine's maintained columns for that history, computed by hand.
    a.total_referees, a.successful_referrals = 4, 2
    a.referee_revenue_minor, a.referrer_revenue_minor = 13_000, 4_550
    b.total_referees, b.successful_referrals = 2, 2
    b.referee_revenue_minor, b.referrer_revenue_minor = 9_777, 800
    c.total_referees, c.successful_referrals = 2, 1
    c.referee_revenue_minor, c.referrer_revenue_minor = 50_000, 1_000
    db.session.commit()
    return shop, a, b, c
