"""Attribution, blocking, rewards and reversals, driven by signed webhooks and proxy visits."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from shopify_app.platform.extensions import db
from shopify_app.platform.models import Referral, Reward
from shopify_app.program.config import get_settings, join_program
from shopify_app.referrals import blocking
from shopify_app.referrals.stats import referral_stats
from tests.helpers import deliver, make_shop, run_jobs
from tests.referrals.conftest import add_customer, local, pay_order, visit, visit_code


@pytest.fixture
def anna(shop, shopify_double):
    customer = add_customer(shopify_double, shop, email="anna@example.com", first_name="Anna")
    join_program(shop, customer)
    db.session.commit()
    return customer


@pytest.fixture
def bob(shop, shopify_double):
    return add_customer(shopify_double, shop, email="bob@example.com", first_name="Bob")


def referral_rows(shop):
    db.session.expire_all()
    return db.session.scalars(
        select(Referral).where(Referral.shop_id == shop.id).order_by(Referral.id)
    ).all()


def assert_stats_in_step(shop, *customers):
    for customer in customers:
        fresh = local(shop, customer.id)
        expected = referral_stats(shop, customer.id)
        actual = {name: getattr(fresh, name) for name in expected}
        assert actual == expected, customer.display_name


def discount(double, shop, code):
    return next(d for d in double.discount_codes(shop.domain) if d["code"] == code)


def test_visit_creates_a_pending_referral_and_a_one_time_code_for_the_referee(
    client, shopify_double, shop, anna, bob
):
    code = visit_code(client, shopify_double, shop, anna.referral_code, bob)

    [referral] = referral_rows(shop)
    assert (referral.status, referral.referee_id, referral.discount_code) == (
        "pending",
        bob.id,
        code,
    )
    created = discount(shopify_double, shop, code)
    assert created["customer_ids"] == [bob.shopify_id]
    assert created["usage_limit"] == 1 and created["applies_once_per_customer"] is True
    assert created["value"] == {"percentage": 0.1}
    assert local(shop, anna.id).total_referees == 1
    # The same signed-in friend coming back gets the same code, not a second referral.
    assert visit_code(client, shopify_double, shop, anna.referral_code, bob) == code
    assert len(referral_rows(shop)) == 1


def test_paid_order_with_the_code_completes_the_referral_and_issues_the_reward(
    client, shopify_double, app, shop, anna, bob
):
    code = visit_code(client, shopify_double, shop, anna.referral_code, None)
    order = pay_order(client, shopify_double, app, shop, customer=bob, codes=[code], total="90.00")

    [referral] = referral_rows(shop)
    assert referral.status == "completed" and referral.order_total_minor == 9000
    assert referral.referee_id == bob.id
    reward = db.session.scalars(select(Reward)).one()
    assert (reward.customer_id, reward.status, reward.shopify_status) == (
        anna.id,
        "unused",
        "synced",
    )
    in_shopify = discount(shopify_double, shop, reward.code)
    assert in_shopify["customer_ids"] == [anna.shopify_id]
    assert in_shopify["value"]["amount"] == "10.00"
    fresh = local(shop, anna.id)
    assert (fresh.successful_referrals, fresh.referee_revenue_minor) == (1, 9000)
    assert_stats_in_step(shop, anna, bob)
    assert order["total"] == "90.00"


def test_the_same_order_delivered_twice_changes_nothing(
    client, shopify_double, app, shop, anna, bob
):
    code = visit_code(client, shopify_double, shop, anna.referral_code, None)
    order = pay_order(
        client, shopify_double, app, shop, customer=bob, codes=[code], total="40.00", deliveries=2
    )
    # And once more, as orders/create with the same payload.
    deliver(
        client,
        shopify_double,
        "orders/create",
        shop.domain,
        shopify_double.order_payload(shop.domain, order),
    )
    run_jobs(app)

    assert [r.status for r in referral_rows(shop)] == ["completed"]
    assert db.session.scalar(select(func.count()).select_from(Reward)) == 1
    rewards_in_shopify = [
        d for d in shopify_double.discount_codes(shop.domain) if d["code"].startswith("THANKS-")
    ]
    assert len(rewards_in_shopify) == 1
    fresh = local(shop, anna.id)
    assert (fresh.successful_referrals, fresh.referee_revenue_minor, fresh.total_referees) == (
        1,
        4000,
        1,
    )


def test_reward_used_on_a_later_order_counts_in_the_referrers_revenue_once(
    client, shopify_double, app, shop, anna, bob
):
    code = visit_code(client, shopify_double, shop, anna.referral_code, bob)
    pay_order(client, shopify_double, app, shop, customer=bob, codes=[code])
    reward = db.session.scalars(select(Reward)).one()
    pay_order(
        client,
        shopify_double,
        app,
        shop,
        customer=anna,
        codes=[reward.code],
        total="55.50",
        deliveries=2,
    )

    reward = db.session.scalars(select(Reward)).one()
    assert reward.status == "used" and reward.revenue_minor == 5550
    assert local(shop, anna.id).referrer_revenue_minor == 5550
    assert_stats_in_step(shop, anna)


@pytest.mark.parametrize("referee_email", ["anna@example.com", " Anna+deals@Example.COM"])
def test_self_referral_by_email_is_blocked(client, shopify_double, app, shop, anna, referee_email):
    code = visit_code(client, shopify_double, shop, anna.referral_code, None)
    alias = None
    if referee_email.strip().lower() != anna.email:
        alias = add_customer(shopify_double, shop, email=referee_email.strip(), first_name="A")
    order = shopify_double.add_order(
        shop.domain,
        customer_id=alias.shopify_id if alias else None,
        email=None if alias else referee_email,
        discount_codes=[code],
    )
    deliver(
        client,
        shopify_double,
        "orders/paid",
        shop.domain,
        shopify_double.order_payload(shop.domain, order),
    )
    run_jobs(app)

    [referral] = referral_rows(shop)
    assert referral.status == "blocked"
    assert referral.block_reason == blocking.SELF_REFERRAL_EMAIL
    assert db.session.scalar(select(func.count()).select_from(Reward)) == 0
    assert_stats_in_step(shop, anna)
    assert local(shop, anna.id).total_referees == 0


def test_self_referral_by_the_same_customer_is_blocked_at_the_visit_and_at_the_order(
    client, shopify_double, app, shop, anna
):
    response = visit(client, shopify_double, shop, anna.referral_code, anna)
    assert response.status_code == 200
    assert b"This link is for friends of Anna" in response.data
    assert blocking.SELF_REFERRAL.encode() not in response.data
    assert [d["code"] for d in shopify_double.discount_codes(shop.domain)] == []

    code = visit_code(client, shopify_double, shop, anna.referral_code, None)
    pay_order(client, shopify_double, app, shop, customer=anna, codes=[code])
    assert [(r.status, r.block_reason) for r in referral_rows(shop)] == [
        ("blocked", blocking.SELF_REFERRAL),
        ("blocked", blocking.SELF_REFERRAL),
    ]
    assert_stats_in_step(shop, anna)


def test_a_referee_who_had_ordered_before_is_blocked(client, shopify_double, app, shop, anna, bob):
    pay_order(client, shopify_double, app, shop, customer=bob, total="20.00")
    code = visit_code(client, shopify_double, shop, anna.referral_code, None)
    pay_order(client, shopify_double, app, shop, customer=bob, codes=[code])

    [referral] = referral_rows(shop)
    assert (referral.status, referral.block_reason) == ("blocked", blocking.ORDERED_BEFORE)
    # Signed in, the same friend is turned away before any discount is created.
    response = visit(client, shopify_double, shop, anna.referral_code, bob)
    assert response.status_code == 200 and b"Welcome back" in response.data
    assert blocking.ORDERED_BEFORE.encode() not in response.data
    assert_stats_in_step(shop, anna)


def test_a_referee_already_referred_by_someone_else_is_blocked(
    client, shopify_double, app, shop, anna, bob
):
    dave = add_customer(shopify_double, shop, email="dave@example.com", first_name="Dave")
    join_program(shop, dave)
    db.session.commit()
    first = visit_code(client, shopify_double, shop, anna.referral_code, None)
    second = visit_code(client, shopify_double, shop, dave.referral_code, None)
    pay_order(client, shopify_double, app, shop, customer=bob, codes=[first])
    pay_order(client, shopify_double, app, shop, customer=bob, codes=[second])

    statuses = {r.referrer_id: (r.status, r.block_reason) for r in referral_rows(shop)}
    assert statuses[anna.id] == ("completed", None)
    assert statuses[dave.id] == ("blocked", blocking.REFERRED_BY_OTHER)
    assert_stats_in_step(shop, anna, dave)


def test_a_second_use_of_a_one_time_code_is_blocked(client, shopify_double, app, shop, anna, bob):
    carol = add_customer(shopify_double, shop, email="carol@example.com", first_name="Carol")
    code = visit_code(client, shopify_double, shop, anna.referral_code, None)
    pay_order(client, shopify_double, app, shop, customer=bob, codes=[code], total="30.00")
    pay_order(client, shopify_double, app, shop, customer=carol, codes=[code], total="70.00")

    rows = referral_rows(shop)
    assert [(r.status, r.block_reason, r.order_total_minor) for r in rows] == [
        ("completed", None, 3000),
        ("blocked", blocking.CODE_REUSED, 7000),
    ]
    assert db.session.scalar(select(func.count()).select_from(Reward)) == 1
    fresh = local(shop, anna.id)
    assert (fresh.successful_referrals, fresh.referee_revenue_minor, fresh.total_referees) == (
        1,
        3000,
        1,
    )


def test_cancelling_the_referees_order_reverts_to_pending_and_voids_the_unused_reward(
    client, shopify_double, app, shop, anna, bob
):
    code = visit_code(client, shopify_double, shop, anna.referral_code, None)
    order = pay_order(client, shopify_double, app, shop, customer=bob, codes=[code])
    reward_code = db.session.scalars(select(Reward)).one().code

    cancelled = shopify_double.cancel_order(shop.domain, order["id"])
    for _ in range(2):
        deliver(
            client,
            shopify_double,
            "orders/cancelled",
            shop.domain,
            shopify_double.order_payload(shop.domain, cancelled),
        )
    run_jobs(app)
    # A late, repeated orders/paid of the cancelled order must not complete it again.
    deliver(
        client,
        shopify_double,
        "orders/paid",
        shop.domain,
        shopify_double.order_payload(shop.domain, order),
    )
    run_jobs(app)

    [referral] = referral_rows(shop)
    assert (referral.status, referral.order_id, referral.order_total_minor) == (
        "pending",
        None,
        None,
    )
    reward = db.session.scalars(select(Reward)).one()
    assert (reward.status, reward.shopify_status) == ("void", "synced")
    assert discount(shopify_double, shop, reward_code)["status"] == "EXPIRED"
    fresh = local(shop, anna.id)
    assert (fresh.total_referees, fresh.successful_referrals, fresh.referee_revenue_minor) == (
        1,
        0,
        0,
    )
    assert_stats_in_step(shop, anna)


def test_refunds_reverse_the_referral_after_a_used_reward_and_the_reward_revenue(
    client, shopify_double, app, shop, anna, bob
):
    code = visit_code(client, shopify_double, shop, anna.referral_code, None)
    referee_order = pay_order(
        client, shopify_double, app, shop, customer=bob, codes=[code], total="80.00"
    )
    reward_code = db.session.scalars(select(Reward)).one().code
    reward_order = pay_order(
        client, shopify_double, app, shop, customer=anna, codes=[reward_code], total="25.00"
    )
    assert local(shop, anna.id).referrer_revenue_minor == 2500

    partial = shopify_double.refund_order(shop.domain, referee_order["id"], amount="10.00")
    deliver(
        client,
        shopify_double,
        "refunds/create",
        shop.domain,
        shopify_double.refund_payload(shop.domain, partial["id"]),
    )
    run_jobs(app)
    assert [r.status for r in referral_rows(shop)] == ["completed"]  # a partial refund keeps it

    rest = shopify_double.refund_order(shop.domain, referee_order["id"])
    deliver(
        client,
        shopify_double,
        "refunds/create",
        shop.domain,
        shopify_double.refund_payload(shop.domain, rest["id"]),
    )
    run_jobs(app)
    [referral] = referral_rows(shop)
    assert (referral.status, referral.block_reason) == ("blocked", blocking.REVERSED_AFTER_REWARD)
    assert db.session.scalars(select(Reward)).one().status == "used"

    full = shopify_double.refund_order(shop.domain, reward_order["id"])
    deliver(
        client,
        shopify_double,
        "refunds/create",
        shop.domain,
        shopify_double.refund_payload(shop.domain, full["id"]),
    )
    run_jobs(app)
    fresh = local(shop, anna.id)
    assert (fresh.total_referees, fresh.successful_referrals) == (0, 0)
    assert (fresh.referee_revenue_minor, fresh.referrer_revenue_minor) == (0, 0)
    assert_stats_in_step(shop, anna)


def test_an_order_below_the_minimum_leaves_the_referral_pending(
    client, shopify_double, app, shop, anna, bob
):

    get_settings(shop).min_order_minor = 5000
    db.session.commit()
    code = visit_code(client, shopify_double, shop, anna.referral_code, None)
    pay_order(client, shopify_double, app, shop, customer=bob, codes=[code], total="49.99")
    assert [r.status for r in referral_rows(shop)] == ["pending"]
    assert db.session.scalar(select(func.count()).select_from(Reward)) == 0


def test_codes_and_orders_never_cross_shops(client, shopify_double, app, shop, anna, bob):
    other = make_shop(shopify_double, "other-shop.myshopify.com")
    response = visit(client, shopify_double, other, anna.referral_code, None)
    assert response.status_code == 404
    code = visit_code(client, shopify_double, shop, anna.referral_code, None)
    stranger = add_customer(shopify_double, other, email="x@example.com", first_name="X")
    pay_order(client, shopify_double, app, other, customer=stranger, codes=[code])
    assert [r.status for r in referral_rows(shop)] == ["pending"]
    assert db.session.scalar(select(func.count()).select_from(Reward)) == 0
