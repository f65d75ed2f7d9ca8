"""customers/redact deletes the customer's profile in Klaviyo too (its Data Privacy API), once,
through outages and 429s; a customer never sent causes no call; shop/redact stays in its shop."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from shopify_app.integrations.klaviyo import connection, runs
from shopify_app.integrations.klaviyo.jobs import sweep_klaviyo
from shopify_app.integrations.klaviyo.sync import pending, record_sent
from shopify_app.platform.extensions import db
from shopify_app.platform.models import KlaviyoDeletion, KlaviyoProfile
from shopify_app.platform.models.base import utcnow
from shopify_app.privacy import requests as compliance
from shopify_app.program.config import join_program
from tests.helpers import deliver, make_shop, run_jobs
from tests.klaviyo.conftest import KEY, hour_passes, joined_events, stored, uninstall_and_redact
from tests.referrals.conftest import add_customer
from tests.webhooks.test_erasure import database_text

DELETED = "data_privacy_deletion_job"


def sent_customer(app, double, shop, email: str):
    """A customer in Shopify and the app, enrolled, whose profile and event reached Klaviyo."""
    customer = add_customer(double, shop, email=email, first_name="Rhea")
    join_program(shop, customer)
    db.session.commit()
    run_jobs(app)
    return customer


def redact(client, double, shop, customer) -> None:
    payload = double.compliance_payload("customers/redact", shop.domain, customer.shopify_id)
    deliver(client, double, "customers/redact", shop.domain, payload)


def owed(shop=None) -> list[str]:
    db.session.expire_all()
    query = select(KlaviyoDeletion.email).order_by(KlaviyoDeletion.id)
    if shop is not None:
        query = query.where(KlaviyoDeletion.shop_id == shop.id)
    return list(db.session.scalars(query))


def holding(email: str) -> list[str]:
    """The tables that still hold the email anywhere (every column of every table)."""
    db.session.expire_all()
    return [table for table, text in database_text().items() if email in text]


def test_customers_redact_deletes_the_profile_in_klaviyo_and_keeps_no_email(
    app, client, connected, shopify_double, klaviyo
):
    gone = sent_customer(app, shopify_double, connected, "rhea.gone@example.com")
    kept = sent_customer(app, shopify_double, connected, "otto.kept@example.com")
    assert set(klaviyo.profiles(KEY)) == {"rhea.gone@example.com", "otto.kept@example.com"}
    redact(client, shopify_double, connected, gone)
    run_jobs(app)  # the drain, then the sync its commit queued
    assert set(klaviyo.profiles(KEY)) == {"otto.kept@example.com"}
    assert [e.email for e in joined_events(klaviyo)] == ["otto.kept@example.com"]
    assert [d.identifier for d in klaviyo.deletions(KEY)] == ["rhea.gone@example.com"]
    assert holding("rhea.gone@example.com") == []
    assert "otto.kept@example.com" in klaviyo.profiles(KEY)
    assert sweep_klaviyo() == 0  # nothing owed, nothing lagging
    assert runs.sync_shop(connected.id) == "sent 0 profiles and 0 events in 0 jobs"
    assert klaviyo.received(KEY)[DELETED] == 1
    assert kept.email == "otto.kept@example.com"


@pytest.mark.parametrize("outage", ["refused", "503", "429"])
def test_klaviyo_unavailable_at_redaction_deletes_on_a_later_sweep_exactly_once(
    app, client, connected, shopify_double, klaviyo, outage
):
    gone = sent_customer(app, shopify_double, connected, "rhea.later@example.com")
    if outage == "refused":
        klaviyo.go_down()
    elif outage == "503":
        klaviyo.fail_for(3600, 503)
    else:
        klaviyo.fail_for(3600, 429, retry_after=120)
    redact(client, shopify_double, connected, gone)
    run_jobs(app)
    # Klaviyo still has the profile; the app owes its deletion and holds nothing else.
    assert owed(connected) == ["rhea.later@example.com"]
    assert holding("rhea.later@example.com") == ["klaviyo_deletions"]
    row = stored(connected)
    assert row.retry_at is not None and row.retry_at > utcnow()
    assert sweep_klaviyo() == 0  # backing off (or Klaviyo's Retry-After)
    if outage == "refused":
        klaviyo.come_up()
    else:
        klaviyo.fail_for(0)
    assert "rhea.later@example.com" in klaviyo.profiles(KEY)
    hour_passes(connected)
    assert sweep_klaviyo() == 1
    run_jobs(app)
    assert "rhea.later@example.com" not in klaviyo.profiles(KEY)
    assert klaviyo.received(KEY)[DELETED] == 1
    assert owed() == [] and holding("rhea.later@example.com") == []
    # Accepted once, never asked again.
    assert sweep_klaviyo() == 0
    runs.sync_shop(connected.id)
    run_jobs(app)
    assert klaviyo.received(KEY)[DELETED] == 1


class Clock:
    """The double's rate-limit clock, held still: a window is spent without waiting for it."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_a_429_mid_way_resends_only_the_deletions_klaviyo_did_not_accept(
    app, client, connected, shopify_double, klaviyo
):
    first = sent_customer(app, shopify_double, connected, "first.gone@example.com")
    second = sent_customer(app, shopify_double, connected, "second.gone@example.com")
    klaviyo.go_down()
    for customer in (first, second):
        redact(client, shopify_double, connected, customer)
    run_jobs(app)
    klaviyo.come_up()
    # One deletion left in this minute's steady window (tier S: 60 a minute).
    clock = Clock(60 * 1000 + 0.5)
    previous, klaviyo.limiter.clock = klaviyo.limiter.clock, clock
    endpoint = "klaviyo_api.request_profile_deletion"
    account = klaviyo.account_of(KEY).id
    klaviyo.limiter.windows[(account, endpoint, "m")] = (1000, 59)
    try:
        hour_passes(connected)
        assert sweep_klaviyo() == 1
        run_jobs(app)
        assert [d.identifier for d in klaviyo.deletions(KEY)] == ["first.gone@example.com"]
        assert owed(connected) == ["second.gone@example.com"]
        row = stored(connected)
        assert row.retry_at is not None and "slow down" in row.last_error
        clock.now += 60  # Klaviyo's window reopens
        hour_passes(connected)
        assert sweep_klaviyo() == 1
        run_jobs(app)
    finally:
        klaviyo.limiter.clock = previous
    assert [d.identifier for d in klaviyo.deletions(KEY)] == [
        "first.gone@example.com",
        "second.gone@example.com",
    ]
    assert klaviyo.received(KEY)[DELETED] == 2 and owed() == []


def test_a_customer_never_sent_to_klaviyo_causes_no_deletion_call(
    app, client, connected, shopify_double, klaviyo
):
    never_enrolled = add_customer(shopify_double, connected, email="never@example.com")
    klaviyo.go_down()  # this one's enrolment never reaches Klaviyo
    waiting = add_customer(shopify_double, connected, email="waiting@example.com")
    join_program(connected, waiting)
    db.session.commit()
    run_jobs(app)
    assert [p.email for p in pending(connected)] == ["waiting@example.com"]
    for customer in (never_enrolled, waiting):
        redact(client, shopify_double, connected, customer)
    run_jobs(app)
    klaviyo.come_up()
    hour_passes(connected)
    assert owed() == [] and pending(connected) == []
    assert sweep_klaviyo() == 0
    runs.sync_shop(connected.id)
    assert klaviyo.deletions(KEY) == [] and DELETED not in klaviyo.received(KEY)
    assert klaviyo.profiles(KEY) == {}


def test_a_profile_sent_before_its_event_failed_is_still_deleted(
    app, client, admin, shop, shopify_double, klaviyo
):
    """The profile import went through, the event job did not (a key without events:write):
    Klaviyo holds the profile, so the redaction owes its deletion, sent once a working key
    is connected."""
    partial = "pk_partial_00000000000000000000000000"
    klaviyo.add_key(
        partial,
        account="Partial",
        scopes=frozenset({"accounts:read", "profiles:write", "lists:write"}),
    )
    assert admin.post("/program/klaviyo", {"api_key": partial}).status_code == 302
    customer = add_customer(shopify_double, shop, email="half.sent@example.com")
    join_program(shop, customer)
    db.session.commit()
    run_jobs(app)
    assert "half.sent@example.com" in klaviyo.profiles(partial)
    assert stored(shop).status == "scope_missing" and klaviyo.events(partial) == []
    redact(client, shopify_double, shop, customer)
    run_jobs(app)
    assert owed(shop) == ["half.sent@example.com"]
    full = "pk_full_000000000000000000000000000000"
    klaviyo.add_key(full, account="Partial")
    assert admin.post("/program/klaviyo", {"api_key": full}).status_code == 302
    run_jobs(app)
    assert klaviyo.profiles(full) == {} and klaviyo.events(full) == []
    assert owed() == [] and holding("half.sent@example.com") == []


def test_a_redaction_while_the_profile_is_on_its_way_owes_its_deletion(
    app, connected, shopify_double, klaviyo
):
    """A sync read the customer, the redaction committed while its import job was out: the
    customer is not recorded as sent, the deletion is owed with the email the pass held."""
    customer = add_customer(shopify_double, connected, email="in.flight@example.com")
    join_program(connected, customer)
    db.session.commit()
    rows = pending(connected)
    db.session.commit()
    payload = shopify_double.compliance_payload(
        "customers/redact", connected.domain, customer.shopify_id
    )
    compliance.redact_customer(connected, payload)
    db.session.commit()
    record_sent(connected, rows, events=False)
    db.session.commit()
    assert owed(connected) == ["in.flight@example.com"]
    assert db.session.scalars(select(KlaviyoProfile.customer_id)).all() == []


def test_shop_redact_erases_what_its_shop_owes_and_leaves_other_shops_alone(
    app, client, connected, shopify_double, klaviyo
):
    other_key = "pk_other_0000000000000000000000000000"
    klaviyo.add_key(other_key, account="Other Store")
    other = make_shop(shopify_double, "other-shop.myshopify.com")
    connection.connect(other, other_key)
    db.session.commit()
    ours = sent_customer(app, shopify_double, connected, "ours.gone@example.com")
    theirs = sent_customer(app, shopify_double, other, "theirs.gone@example.com")
    sent_customer(app, shopify_double, other, "theirs.kept@example.com")
    klaviyo.go_down()
    redact(client, shopify_double, connected, ours)
    redact(client, shopify_double, other, theirs)
    run_jobs(app)
    assert owed(connected) == ["ours.gone@example.com"]
    assert owed(other) == ["theirs.gone@example.com"]
    uninstall_and_redact(client, shopify_double, connected)
    run_jobs(app)
    assert owed() == ["theirs.gone@example.com"]
    assert holding("ours.gone@example.com") == []
    klaviyo.come_up()
    hour_passes(other)
    assert sweep_klaviyo() == 1  # only the other shop is connected
    run_jobs(app)
    assert set(klaviyo.profiles(other_key)) == {"theirs.kept@example.com"}
    assert [d.identifier for d in klaviyo.deletions(other_key)] == ["theirs.gone@example.com"]
    # The redacted shop's Klaviyo account was never called with the other shop's deletion.
    assert klaviyo.deletions(KEY) == []
    assert owed() == []
