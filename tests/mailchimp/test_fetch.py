"""Audiences into a segment: read by a real RQ worker, then the contacts import's own path."""

from __future__ import annotations

import pytest

from shopify_app.mailchimp.connection import client_for
from shopify_app.mailchimp.fetching import run_fetch
from shopify_app.platform.extensions import db
from shopify_app.platform.models import ImportJob, Shop
from shopify_app.platform.retry import RetryPolicy
from tests.csv_imports.importing import confirm, get_import
from tests.helpers import run_jobs
from tests.mailchimp.mailchimping import (
    LOGIN,
    add_account,
    connect,
    connection,
    get_fetch,
    members_of,
    start_read,
)

FAST = RetryPolicy(attempts=3, first_delay=0.01, max_delay=0.02)


@pytest.fixture
def connected(admin, shop, mailchimp_double):
    add_account(mailchimp_double)
    connect(admin, mailchimp_double)
    return mailchimp_double


def _audience(double, name: str, members: list[dict]) -> str:
    list_id = double.add_audience(LOGIN, name)
    double.add_members(LOGIN, list_id, members)
    return list_id


def _read_and_import(app, admin, fetch_id: int) -> ImportJob:
    run_jobs(app)
    fetch = get_fetch(fetch_id)
    assert fetch.status == "done", fetch.error_message
    confirm(admin, fetch.import_id)
    run_jobs(app)
    return get_import(fetch.import_id)


def test_the_audience_page_lists_names_and_member_counts(admin, connected):
    _audience(connected, "Newsletter", [{"email_address": f"n{i}@example.com"} for i in range(3)])
    _audience(connected, "VIP", [{"email_address": "v@example.com", "status": "unsubscribed"}])
    page = admin.get("/mailchimp").get_data(as_text=True)
    assert "Newsletter" in page and "3 subscribed members" in page
    assert "VIP" in page and "0 subscribed members" in page


def test_members_go_into_the_segment_once_and_the_rest_are_counted(app, admin, connected):
    newsletter = _audience(
        connected,
        "Newsletter",
        [
            {
                "email_address": "ada@example.com",
                "first_name": "Ada",
                "last_name": "L",
                "language": "fr",
            },
            {"email_address": "Bo@Example.com", "first_name": "Bo", "language": "pt_BR"},
            {"email_address": "", "first_name": "Sms only"},
            {"email_address": "not-an-email", "first_name": "Typo"},
            {"email_address": "gone@example.com", "status": "unsubscribed"},
            {"email_address": "bounced@example.com", "status": "cleaned"},
            {"email_address": "later@example.com", "status": "pending"},
        ],
    )
    vip = _audience(
        connected,
        "VIP",
        [
            {"email_address": "bo@example.com", "first_name": "Bo"},
            {"email_address": "cy@example.com", "first_name": "Cy", "language": "klingon"},
        ],
    )
    fetch_id = start_read(admin, [newsletter, vip], new_segment="From Mailchimp")
    assert get_fetch(fetch_id).status == "queued"
    run_jobs(app)
    fetch = get_fetch(fetch_id)
    assert fetch.status == "done", fetch.error_message
    assert fetch.read == 6 and fetch.staged == 3
    assert {k: v for k, v in fetch.skipped.items() if v} == {
        "unsubscribed": 1,
        "cleaned": 1,
        "no_email": 1,
        "invalid_email": 1,
        "duplicate": 1,
    }
    page = admin.get(f"/mailchimp/fetches/{fetch_id}").get_data(as_text=True)
    assert "1 member already in another chosen audience: not imported" in page
    assert "Check the preview" in page

    job = get_import(fetch.import_id)
    assert (job.kind, job.status) == ("contacts", "previewed")
    preview = job.summary["preview"]
    assert (preview["created"], preview["added_to_segment"], preview["error_rows"]) == (3, 3, 0)
    shown = admin.get(f"/imports/{job.id}").get_data(as_text=True)
    assert "From the Mailchimp audiences" in shown and "1 member cleaned" in shown
    assert members_of("From Mailchimp") == []  # nothing before the merchant confirms

    confirm(admin, job.id)
    run_jobs(app)
    assert get_import(job.id).status == "done"
    assert members_of("From Mailchimp") == ["ada@example.com", "bo@example.com", "cy@example.com"]
    ada = db.session.execute(
        db.text("SELECT first_name, last_name, locale FROM customers WHERE email_key = :e"),
        {"e": "ada@example.com"},
    ).one()
    assert tuple(ada) == ("Ada", "L", "fr")
    bo_locale = db.session.execute(
        db.text("SELECT locale FROM customers WHERE email_key = 'bo@example.com'")
    ).scalar_one()
    assert bo_locale == "pt-BR"


@pytest.mark.parametrize("fault", ["too_many_requests", "heavy_load", "server_errors"])
def test_slow_downs_and_server_errors_are_retried(app, admin, connected, fault):
    list_id = _audience(
        connected, "List", [{"email_address": f"m{i}@example.com"} for i in range(5)]
    )
    fetch_id = start_read(admin, [list_id])
    getattr(connected, fault)(2)
    job = _read_and_import(app, admin, fetch_id)
    assert job.applied_rows == 5
    assert members_of("Mailchimp") == sorted(f"m{i}@example.com" for i in range(5))
    assert connected.store.faults.heavy_load == connected.store.faults.too_many == 0


def test_a_revoked_token_asks_the_merchant_to_reconnect(app, admin, shop, connected):
    list_id = _audience(connected, "List", [{"email_address": "a@example.com"}])
    fetch_id = start_read(admin, [list_id])
    connected.revoke_tokens(LOGIN)
    run_jobs(app)
    fetch = get_fetch(fetch_id)
    assert fetch.status == "broken"
    page = admin.get(f"/mailchimp/fetches/{fetch_id}").get_data(as_text=True)
    assert "Reconnect Mailchimp" in page and "Traceback" not in page
    imports = admin.get("/imports").get_data(as_text=True)
    assert "Reconnect Mailchimp" in imports and "no longer accepts" in imports
    # Reconnecting mends it.
    connect(admin, connected)
    assert "Connected to" in admin.get("/imports").get_data(as_text=True)


def test_a_network_failure_mid_paging_resumes_where_it_stopped(app, ctx, admin, shop, connected):
    app.config["MAILCHIMP_CONNECTIONS"] = 1
    try:
        list_id = _audience(connected, "Big", [])
        connected.generate_members(LOGIN, list_id, 3500)
        fetch_id = start_read(admin, [list_id])
        connected.drop_connections(after_pages=2, times=3)
        client = client_for(db.session.get(Shop, shop.id))
        client.policy = FAST
        assert run_fetch(fetch_id, client) == "interrupted"
        fetch = get_fetch(fetch_id)
        assert fetch.position["offset"] == 2000 and fetch.staged == 2000
        assert "where it stopped" in admin.get(f"/mailchimp/fetches/{fetch_id}").get_data(
            as_text=True
        )
        before = len(connected.member_reads(list_id))
        admin.post(f"/mailchimp/fetches/{fetch_id}/resume")
        run_jobs(app)
    finally:
        app.config["MAILCHIMP_CONNECTIONS"] = 4
    resumed = [int(q["offset"]) for q in connected.member_reads(list_id)[before:]]
    assert resumed == [2000, 3000]  # not from the first page again
    fetch = get_fetch(fetch_id)
    assert (fetch.status, fetch.read, fetch.staged) == ("done", 3500, 3500)
    confirm(admin, fetch.import_id)
    run_jobs(app)
    members = members_of("Mailchimp")
    assert len(members) == len(set(members)) == 3500


def test_reads_use_at_most_the_configured_connections(app, admin, connected):
    list_id = _audience(connected, "Big", [])
    connected.generate_members(LOGIN, list_id, 9000)
    connected.set_latency(0.05)
    fetch_id = start_read(admin, [list_id])
    run_jobs(app)
    assert get_fetch(fetch_id).staged == 9000
    assert 1 < connected.max_in_flight <= app.config["MAILCHIMP_CONNECTIONS"]
    pages = connected.member_reads(list_id)
    assert all(q["count"] == "1000" and q["status"] == "subscribed" for q in pages)


@pytest.mark.slow
def test_a_50000_member_audience(app, admin, connected):
    list_id = _audience(connected, "Fifty thousand", [])
    connected.generate_members(LOGIN, list_id, 50_000)
    fetch_id = start_read(admin, [list_id])
    job = _read_and_import(app, admin, fetch_id)
    assert (job.status, job.applied_rows, job.error_rows) == ("done", 50_000, 0)
    assert len(members_of("Mailchimp")) == 50_000


def test_a_revoked_token_on_the_audience_page_asks_to_reconnect(admin, shop, connected):
    connected.revoke_tokens(LOGIN)
    page = admin.get("/mailchimp")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Reconnect Mailchimp" in text and "Traceback" not in text
    assert connection(shop).broken_at is not None
