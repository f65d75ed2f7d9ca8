"""A drain batch hands consecutive order deliveries to the engine as one run (set-wise).

The run must end exactly as the same deliveries processed one by one: two shops get the same
customers, referrals and order stream; one shop's deliveries are drained together, the
other's one at a time, and every referral, reward and maintained stat must agree.
"""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from shopify_app.platform.extensions import db
from shopify_app.platform.models import Customer, Order, Referral, Reward, Shop
from shopify_app.program.config import join_program
from shopify_app.referrals import blocking
from shopify_app.referrals.stats import referral_stats
from tests.helpers import deliver, make_shop, run_jobs
from tests.referrals.conftest import add_customer, pay_order, visit_code

PEOPLE = ("rita", "rolf", "eve", "emil", "erin", "esme", "ezra")
REFERRERS = ("rita", "rolf")


def _populate(client, double, app, shop: Shop) -> dict[str, Customer]:
    people = {
        name: add_customer(double, shop, email=f"{name}@example.com", first_name=name.title())
        for name in PEOPLE
    }
    for name in REFERRERS:
        join_program(shop, people[name])
    db.session.commit()
    return people


def _stream(client, double, app, shop: Shop, people: dict[str, Customer]) -> list[dict]:
    """Pending referrals, a reward earned before the stream, and the stream of paid orders."""

    def code(referrer: str) -> str:
        return visit_code(client, double, shop, people[referrer].referral_code, None)

    earned = code("rolf")
    pay_order(client, double, app, shop, customer=people["ezra"], codes=[earned])
    reward = db.session.scalars(select(Reward.code).where(Reward.shop_id == shop.id)).one()
    rita_1, rita_2, rita_3, rolf_1, rolf_2 = (code(n) for n in ("rita",) * 3 + ("rolf",) * 2)

    def order(customer: str, codes: list[str], total: str) -> dict:
        record = double.add_order(
            shop.domain,
            customer_id=people[customer].shopify_id,
            discount_codes=codes,
            total=total,
        )
        return double.order_payload(shop.domain, record)

    first = order("eve", [rita_1], "40.00")  # completes
    return [
        first,
        order("eve", [rolf_1], "45.00"),  # eve was referred by rita already
        order("emil", [rita_1], "50.00"),  # second use of a one-time code
        order("rita", [rita_2], "55.00"),  # self-referral
        first,  # the same order delivered again
        order("erin", ["SUMMER10"], "20.00"),  # erin's first order: no engine code
        order("erin", [rita_3], "60.00"),  # erin had ordered before
        order("esme", [rolf_2, "summer10"], "65.00"),  # completes, merchant code ignored
        order("rolf", [reward], "70.00"),  # the reward is used
        order("rolf", [reward], "75.00"),  # and cannot be used twice
        order("emil", [], "15.00"),  # a plain order
    ]


def _outcome(shop: Shop) -> dict[str, object]:
    """Everything the engine decided, named by people and order totals (ids differ by shop)."""
    db.session.expire_all()
    name = {c.id: c.first_name.lower() for c in db.session.scalars(select(Customer))}
    total = dict(db.session.execute(select(Order.id, Order.total_minor)).all())
    referral_rows = db.session.scalars(
        select(Referral).where(Referral.shop_id == shop.id).order_by(Referral.id)
    )
    reward_rows = db.session.scalars(
        select(Reward).where(Reward.shop_id == shop.id).order_by(Reward.id)
    )
    customers = db.session.scalars(select(Customer).where(Customer.shop_id == shop.id))
    return {
        "referrals": [
            (
                name[r.referrer_id],
                name.get(r.referee_id),
                r.status,
                r.block_reason,
                total.get(r.order_id),
                r.order_total_minor,
            )
            for r in referral_rows
        ],
        "rewards": [
            (name[r.customer_id], r.status, total.get(r.used_order_id), r.revenue_minor)
            for r in reward_rows
        ],
        "stats": {
            c.first_name.lower(): (
                c.total_referees,
                c.successful_referrals,
                c.referee_revenue_minor,
                c.referrer_revenue_minor,
            )
            for c in customers
        },
        "oracle": {
            c.first_name.lower(): referral_stats(shop, c.id)
            for c in db.session.scalars(select(Customer).where(Customer.shop_id == shop.id))
        },
    }


@pytest.mark.slow
def test_a_run_of_order_deliveries_ends_as_the_same_deliveries_one_by_one(
    client, shopify_double, app, shop, caplog
):
    other = make_shop(shopify_double, "one-by-one.myshopify.com")
    streams = {}
    for each in (shop, other):
        people = _populate(client, shopify_double, app, each)
        streams[each.domain] = _stream(client, shopify_double, app, each, people)

    for n, payload in enumerate(streams[shop.domain]):
        deliver(client, shopify_double, "orders/paid", shop.domain, payload, webhook_id=f"r{n}")
    with caplog.at_level(logging.WARNING, logger="webhooks.drain"):
        run_jobs(app)  # one drain batch: the whole stream is one run
    assert "one by one" not in caplog.text

    for n, payload in enumerate(streams[other.domain]):
        deliver(client, shopify_double, "orders/paid", other.domain, payload, webhook_id=f"o{n}")
        run_jobs(app)

    batched, one_by_one = _outcome(shop), _outcome(other)
    assert batched == one_by_one
    assert batched["stats"] == {
        person: tuple(stats.values()) for person, stats in batched["oracle"].items()
    }
    outcomes = [(r[0], r[1], r[2], r[3]) for r in batched["referrals"]]
    assert outcomes == [
        ("rolf", "ezra", "completed", None),
        ("rita", "eve", "completed", None),
        ("rita", "rita", "blocked", blocking.SELF_REFERRAL),
        ("rita", "erin", "blocked", blocking.ORDERED_BEFORE),
        ("rolf", "eve", "blocked", blocking.REFERRED_BY_OTHER),
        ("rolf", "esme", "completed", None),
        ("rita", "emil", "blocked", blocking.CODE_REUSED),
    ]
    assert [r[1:3] for r in batched["rewards"]] == [
        ("used", 7000),
        ("unused", None),
        ("unused", None),
    ]
    # The run's two new rewards were synced by one job: each is a code in Shopify.
    db.session.expire_all()
    run_rewards = db.session.scalars(select(Reward).where(Reward.shop_id == shop.id)).all()
    assert {r.shopify_status for r in run_rewards} == {"synced"}
    in_shopify = {d["code"] for d in shopify_double.discount_codes(shop.domain)}
    assert {r.code for r in run_rewards} <= in_shopify
