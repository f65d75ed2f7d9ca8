"""Enrolments and balances reach Klaviyo once, batched, through 429s and outages, in order."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from shopify_app.integrations.klaviyo import connection, runs
from shopify_app.integrations.klaviyo.jobs import sweep_klaviyo
from shopify_app.integrations.klaviyo.sync import METRIC, pending
from shopify_app.loyalty.ledger import add_points
from shopify_app.platform.extensions import db
from shopify_app.platform.models import KlaviyoProfile
from shopify_app.platform.models.base import utcnow
from shopify_app.program.config import join_customers
from tests.factories import make_contact
from tests.helpers import make_shop, run_jobs
from tests.klaviyo.conftest import KEY, enrol, hour_passes, joined_events, stored
from tests.workers import wait_for


def points(shop, customer, delta: int) -> None:
    add_points(shop, customer, delta, description="Test", source="manual")
    db.session.commit()


def test_an_enrolment_sends_the_profile_and_one_event(app, connected, klaviyo):
    customer = enrol(connected, "ada@example.com", first_name="Ada", points_balance=40)
    run_jobs(app)  # the sync queued by the enrolment's commit, on a real RQ worker
    profile = klaviyo.profiles(KEY)["ada@example.com"]
    link = f"https://{connected.domain}/apps/referrals/r/{customer.referral_code}"
    assert profile.properties == {
        "referral_link": link,
        "referral_code": customer.referral_code,
        "points_balance": 40,
    }
    assert profile.attributes["first_name"] == "Ada"
    (event,) = joined_events(klaviyo)
    assert event.email == "ada@example.com" and event.properties["referral_link"] == link
    assert event.unique_id == (
        f"referral-join-{connected.id}-{customer.id}-{int(customer.joined_at.timestamp())}"
    )
    # Nothing lags any more: the sweep queues nothing, a second run sends nothing.
    assert sweep_klaviyo() == 0
    assert runs.sync_shop(connected.id).startswith("sent 0 profiles and 0 events")
    assert klaviyo.received(KEY) == {
        "profile": 1,
        "profile_import_job": 1,
        "event": 1,
        "event_bulk_job": 1,
        "duplicate_events": 0,
    }
    assert stored(connected).last_synced_at is not None


def test_connecting_backfills_everyone_enrolled_before(app, admin, shop, klaviyo):
    customers = [make_contact(shop, f"c{n}@example.com") for n in range(30)]
    db.session.commit()
    join_customers(shop, [c.id for c in customers])
    db.session.commit()
    run_jobs(app)  # not connected: nothing to send, nothing queued
    assert admin.post("/program/klaviyo", {"api_key": KEY}).status_code == 302
    run_jobs(app)
    assert len(klaviyo.profiles(KEY)) == 30 and len(joined_events(klaviyo)) == 30
    received = klaviyo.received(KEY)
    assert received["profile_import_job"] == 1 and received["event_bulk_job"] == 1


def test_balance_changes_follow_batched(app, connected, klaviyo):
    customers = [enrol(connected, f"b{n}@example.com") for n in range(8)]
    run_jobs(app)
    before = klaviyo.received(KEY)
    for customer in customers[:5]:
        points(connected, customer, 10)
        points(connected, customer, 5)
    # The ledger queued nothing for Klaviyo; the sweep finds the difference.
    assert len(pending(connected)) == 5
    assert sweep_klaviyo() == 1
    run_jobs(app)
    after = klaviyo.received(KEY)
    assert after["profile_import_job"] == before["profile_import_job"] + 1
    assert after["profile"] == before["profile"] + 5
    assert after["event"] == before["event"]  # no new enrolment, no new event
    balances = {e: p.properties["points_balance"] for e, p in klaviyo.profiles(KEY).items()}
    assert balances == {f"b{n}@example.com": 15 if n < 5 else 0 for n in range(8)}


def test_a_worker_process_sends_balance_changes_within_the_sweep_interval(
    app, connected, klaviyo, workers
):
    customer = enrol(connected, "w@example.com")
    workers.start(SWEEP_INTERVAL_SECONDS="1")
    wait_for(lambda: len(joined_events(klaviyo)) == 1, timeout=30)
    points(connected, customer, 70)
    wait_for(
        lambda: klaviyo.profiles(KEY)["w@example.com"].properties["points_balance"] == 70,
        timeout=30,
    )
    assert klaviyo.received(KEY)["duplicate_events"] == 0


def test_a_short_retry_after_is_waited_out(app, connected, klaviyo):
    klaviyo.fail_next(429, n=2, retry_after=1)
    enrol(connected, "t@example.com")
    started = time.monotonic()
    run_jobs(app)
    assert time.monotonic() - started >= 2
    assert len(joined_events(klaviyo)) == 1 and "t@example.com" in klaviyo.profiles(KEY)
    assert stored(connected).last_error is None


def test_a_long_retry_after_is_honoured_by_coming_back_later(app, connected, klaviyo):
    klaviyo.fail_next(429, n=1, retry_after=120)
    enrol(connected, "late@example.com")
    run_jobs(app)
    row = stored(connected)
    assert klaviyo.profiles(KEY) == {}
    assert row.retry_at is not None
    assert timedelta(seconds=110) < row.retry_at - utcnow() <= timedelta(seconds=120)
    assert "slow down" in row.last_error
    assert sweep_klaviyo() == 0  # not before Klaviyo said
    hour_passes(connected)
    assert sweep_klaviyo() == 1
    run_jobs(app)
    assert len(joined_events(klaviyo)) == 1


@pytest.mark.parametrize("outage", ["refused", "503"])
def test_klaviyo_down_then_up_everything_goes_once_in_order(app, admin, connected, klaviyo, outage):
    first = enrol(connected, "first@example.com")
    run_jobs(app)
    if outage == "refused":
        klaviyo.go_down()
    else:
        klaviyo.fail_for(3600, 503)
    points(connected, first, 5)
    a = enrol(connected, "a@example.com")
    b = enrol(connected, "b@example.com")
    points(connected, a, 10)
    points(connected, a, 20)
    run_jobs(app)
    row = stored(connected)
    assert row.failures == 1 and row.retry_at is not None and row.retry_at > utcnow()
    assert "could not be reached" in row.last_error
    assert "Klaviyo updates are waiting" in admin.get("/program").get_data(as_text=True)
    assert sweep_klaviyo() == 0  # backing off
    c = enrol(connected, "c@example.com")
    points(connected, b, 3)
    # Klaviyo is back an hour later.
    if outage == "refused":
        klaviyo.come_up()
    else:
        klaviyo.fail_for(0, 503)
    hour_passes(connected)
    assert sweep_klaviyo() == 1
    run_jobs(app)
    events = joined_events(klaviyo)
    assert [e.email for e in events] == [
        "first@example.com",
        "a@example.com",
        "b@example.com",
        "c@example.com",
    ]
    assert klaviyo.received(KEY)["duplicate_events"] == 0
    balances = {e: p.properties["points_balance"] for e, p in klaviyo.profiles(KEY).items()}
    assert balances == {
        "first@example.com": 5,
        "a@example.com": 30,
        "b@example.com": 3,
        "c@example.com": 0,
    }
    # Each customer's profile arrived before their event, and each lagging customer once.
    log = klaviyo.arrival_log(KEY)
    for customer in (a, b, c):
        kinds = [kind for kind, email in log if email == customer.email]
        assert kinds.index("profile") < kinds.index("event"), kinds
    after_outage = log[log.index(("event", "first@example.com")) + 1 :]
    assert [e for k, e in after_outage if k == "profile"][:4] == [
        "first@example.com",
        "a@example.com",
        "b@example.com",
        "c@example.com",
    ]
    row = stored(connected)
    assert row.failures == 0 and row.retry_at is None and row.last_error is None
    assert sweep_klaviyo() == 0


def test_a_revoked_key_stops_the_sync_and_the_page_says_so(app, admin, connected, klaviyo):
    with klaviyo.lock:
        del klaviyo.store.keys[KEY]
    enrol(connected, "r@example.com")
    run_jobs(app)
    row = stored(connected)
    assert row.status == "key_refused"
    page = admin.get("/program").get_data(as_text=True)
    assert "Klaviyo stopped receiving updates" in page and "Connect a new key" in page
    assert sweep_klaviyo() == 0
    # A new key starts it again, and what waited goes out.
    klaviyo.add_key(KEY)
    assert admin.post("/program/klaviyo", {"api_key": KEY}).status_code == 302
    run_jobs(app)
    assert len(joined_events(klaviyo)) == 1


def test_each_shop_reaches_only_its_own_klaviyo_account(app, shop, shopify_double, klaviyo):
    other_key = "pk_other_0000000000000000000000000000"
    klaviyo.add_key(other_key, account="Other Store")
    other = make_shop(shopify_double, "other-shop.myshopify.com")
    enrol(shop, "ours@example.com")
    theirs = enrol(other, "theirs@example.com")
    for owner, key in ((shop, KEY), (other, other_key)):
        connection.connect(owner, key)
        runs.request_sync(owner)
        db.session.commit()
    run_jobs(app)
    assert set(klaviyo.profiles(KEY)) == {"ours@example.com"}
    assert set(klaviyo.profiles(other_key)) == {"theirs@example.com"}
    assert [e.email for e in klaviyo.events(other_key, METRIC)] == ["theirs@example.com"]
    sent = db.session.execute(
        select(KlaviyoProfile.shop_id, func.count()).group_by(KlaviyoProfile.shop_id)
    ).all()
    assert dict(sent) == {shop.id: 1, other.id: 1}
    # The pending query of one shop never lists the other's customers.
    points(other, theirs, 5)
    assert pending(shop) == [] and [p.email for p in pending(other)] == ["theirs@example.com"]


def test_a_key_without_a_write_scope_stops_the_sync_with_a_message(app, admin, shop, klaviyo):
    partial = "pk_partial_00000000000000000000000000"
    klaviyo.add_key(partial, account="Partial", scopes=frozenset({"accounts:read", "events:write"}))
    assert admin.post("/program/klaviyo", {"api_key": partial}).status_code == 302  # it reads
    enrol(shop, "p@example.com")
    run_jobs(app)
    assert stored(shop).status == "scope_missing"
    page = admin.get("/program").get_data(as_text=True)
    assert "lacks a permission the app needs" in page
    assert klaviyo.events(partial) == []
