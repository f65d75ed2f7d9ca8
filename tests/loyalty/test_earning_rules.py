"""Points for an enabled account, a completed referral and an imported event: each once, and
only while its rule is on."""

from __future__ import annotations

import pytest

from shopify_app.customers.sync_jobs import queue_initial_sync
from shopify_app.loyalty.earning import earn_for_event, event_source_key
from shopify_app.platform.extensions import db
from shopify_app.program.config import join_program
from tests.factories import make_contact
from tests.helpers import deliver, run_jobs
from tests.loyalty.conftest import balance, history, set_rules
from tests.referrals.conftest import add_customer, pay_order, visit_code

WELCOME = "Welcome: account created"


def _deliver_customer(client, double, shop, topic: str, record: dict, **extra) -> None:
    deliver(
        client, double, topic, shop.domain, double.customer_payload(shop.domain, record), **extra
    )


# --- accounts ------------------------------------------------------------------------------------


def test_an_account_created_enabled_earns_once_however_often_it_is_reported(
    app, client, shop, shopify_double
):
    set_rules(shop, earn_account=True, account_points=100)
    d = shopify_double
    record = d.add_customer(shop.domain, first_name="Ana", email="ana@example.com")
    _deliver_customer(client, d, shop, "customers/create", record)
    run_jobs(app)
    record = d.update_customer(shop.domain, record["id"], first_name="Ana María")
    _deliver_customer(client, d, shop, "customers/update", record)
    _deliver_customer(client, d, shop, "customers/enable", record)
    _deliver_customer(client, d, shop, "customers/create", record, webhook_id="replay")
    run_jobs(app)
    assert balance(shop, record["id"]) == 100
    assert [(p, t) for _, p, t in history(shop)] == [(100, WELCOME)]


@pytest.mark.parametrize("topic", ["customers/update", "customers/enable"])
def test_an_invited_customer_earns_when_their_account_becomes_enabled(
    app, client, shop, shopify_double, topic
):
    set_rules(shop, earn_account=True, account_points=75)
    d = shopify_double
    record = d.add_customer(shop.domain, first_name="Ivo", email="ivo@example.com", state="INVITED")
    _deliver_customer(client, d, shop, "customers/create", record)
    run_jobs(app)
    assert balance(shop, record["id"]) == 0
    # customers/enable may carry the same updated_at (Shopify enabled some without touching it).
    record = d.update_customer(
        shop.domain, record["id"], state="ENABLED", touch=topic == "customers/update"
    )
    _deliver_customer(client, d, shop, topic, record)
    run_jobs(app)
    assert balance(shop, record["id"]) == 75
    record = d.update_customer(shop.domain, record["id"], state="DISABLED")
    _deliver_customer(client, d, shop, "customers/update", record)
    record = d.update_customer(shop.domain, record["id"], state="ENABLED")
    _deliver_customer(client, d, shop, "customers/update", record)
    run_jobs(app)
    assert balance(shop, record["id"]) == 75  # enabled again: still once


def test_a_run_of_customer_webhooks_awards_each_new_account(app, client, shop, shopify_double):
    set_rules(shop, earn_account=True, account_points=10)
    d = shopify_double
    records = [
        d.add_customer(shop.domain, email=f"run{n}@example.com", state=state)
        for n, state in enumerate(["ENABLED", "DISABLED", "ENABLED", "INVITED"])
    ]
    for record in records:
        _deliver_customer(client, d, shop, "customers/create", record)
    run_jobs(app)  # consecutive customer deliveries: one run, upserted set-wise
    assert [balance(shop, r["id"]) for r in records] == [10, 0, 10, 0]


def test_with_the_rule_off_no_account_earns_and_turning_it_on_rewards_no_past_account(
    app, client, shop, shopify_double
):
    d = shopify_double
    record = d.add_customer(shop.domain, first_name="Old", email="old@example.com")
    _deliver_customer(client, d, shop, "customers/create", record)
    run_jobs(app)
    set_rules(shop, earn_account=True)
    record = d.update_customer(shop.domain, record["id"], first_name="Older")
    _deliver_customer(client, d, shop, "customers/update", record)
    run_jobs(app)
    assert history(shop) == []


def test_the_initial_sync_rewards_nobody_and_a_later_sync_rewards_a_newly_enabled_account(
    app, shop, shopify_double
):
    set_rules(shop, earn_account=True, account_points=50)
    d = shopify_double
    members = [d.add_customer(shop.domain, email=f"m{n}@example.com") for n in range(3)]
    guest = d.add_customer(shop.domain, email="guest@example.com", state="DISABLED")
    queue_initial_sync(shop)
    run_jobs(app)
    assert history(shop) == []
    # Enabled in Shopify without a webhook and without moving updated_at (as in May 2024).
    d.update_customer(shop.domain, guest["id"], state="ENABLED", touch=False)
    queue_initial_sync(shop)
    run_jobs(app)
    assert balance(shop, guest["id"]) == 50
    assert [balance(shop, m["id"]) for m in members] == [0, 0, 0]


# --- referrals -----------------------------------------------------------------------------------


@pytest.fixture
def anna(shop, shopify_double):
    customer = add_customer(shopify_double, shop, email="anna@example.com", first_name="Anna")
    join_program(shop, customer)
    db.session.commit()
    return customer


@pytest.fixture
def bob(shop, shopify_double):
    return add_customer(shopify_double, shop, email="bob@example.com", first_name="Bob")


def test_a_completed_referral_gives_both_sides_their_points_once_and_a_cancel_takes_them_back(
    app, client, shop, shopify_double, anna, bob
):
    set_rules(shop, earn_referral=True, referrer_points=500, referee_points=200)
    d = shopify_double
    code = visit_code(client, d, shop, anna.referral_code, bob)
    order = pay_order(client, d, app, shop, customer=bob, codes=[code], deliveries=2)
    assert (balance(shop, anna.shopify_id), balance(shop, bob.shopify_id)) == (500, 200)
    texts = {t for _, _, t in history(shop)}
    assert texts == {"Referred Bob", "Referred by Anna"}

    cancelled = d.cancel_order(shop.domain, order["id"])
    for _ in range(2):
        deliver(client, d, "orders/cancelled", shop.domain, d.order_payload(shop.domain, cancelled))
    run_jobs(app)
    assert (balance(shop, anna.shopify_id), balance(shop, bob.shopify_id)) == (0, 0)
    assert "Referral of Bob reversed" in {t for _, _, t in history(shop)}
    assert len(history(shop)) == 4


def test_a_referral_completed_again_after_a_reversal_earns_again(
    app, client, shop, shopify_double, anna, bob
):
    set_rules(shop, earn_referral=True, referrer_points=300, referee_points=0)
    d = shopify_double
    code = visit_code(client, d, shop, anna.referral_code, bob)
    first = pay_order(client, d, app, shop, customer=bob, codes=[code])
    cancelled = d.cancel_order(shop.domain, first["id"])  # the referral goes back to Pending
    deliver(client, d, "orders/cancelled", shop.domain, d.order_payload(shop.domain, cancelled))
    run_jobs(app)
    assert balance(shop, anna.shopify_id) == 0
    pay_order(client, d, app, shop, customer=bob, codes=[code])
    assert balance(shop, anna.shopify_id) == 300
    assert balance(shop, bob.shopify_id) == 0  # no referee points set


def test_with_the_referral_rule_off_a_completed_referral_earns_no_points(
    app, client, shop, shopify_double, anna, bob
):
    code = visit_code(client, shopify_double, shop, anna.referral_code, bob)
    pay_order(client, shopify_double, app, shop, customer=bob, codes=[code])
    assert history(shop) == []


# --- events --------------------------------------------------------------------------------------


def test_an_event_earns_its_points_once_per_event_key(shop):
    set_rules(shop, earn_events=True, event_points={"review_posted": 50, "birthday": 20})
    customer = make_contact(shop, "eve@example.com")
    first = earn_for_event(shop, customer, "review_posted", "review-1")
    again = earn_for_event(shop, customer, "review_posted", "review-1")
    other = earn_for_event(shop, customer, "review_posted", "review-2")
    birthday = earn_for_event(shop, customer, "birthday", "review-1")  # same key, other event
    unknown = earn_for_event(shop, customer, "unboxing_video", "v-1")
    db.session.commit()
    assert first is not None and first.description == "Review posted"
    assert (again, unknown) == (None, None)
    assert other is not None and birthday is not None
    assert customer.points_balance == 120


def test_with_the_event_rule_off_an_event_earns_nothing(shop):
    set_rules(shop, earn_events=False, event_points={"review_posted": 50})
    customer = make_contact(shop, "off@example.com")
    assert earn_for_event(shop, customer, "review_posted", "r-1") is None


def test_a_long_event_key_still_fits_the_ledger():
    key = event_source_key("review_posted", "x" * 500)
    assert len(key) <= 120
    assert key == event_source_key("review_posted", "x" * 500)
    assert key != event_source_key("review_posted", "x" * 499)
