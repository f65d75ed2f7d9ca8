"""Initial customer sync from the double's GraphQL Admin API: pages, throttling, crash, resume,
and the sweep that resumes a sync whose job was lost or whose worker died."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import timedelta

import pytest
from redis import Redis
from sqlalchemy import select, update

from shopify_app.customers import sync
from shopify_app.customers.sync_jobs import queue_initial_sync, sweep_syncs, sync_customers
from shopify_app.platform import sweeps
from shopify_app.platform.customer_store import ShopifyCustomer, upsert_shopify_customer
from shopify_app.platform.extensions import db, queue
from shopify_app.platform.models import Customer, Shop
from shopify_app.platform.models.base import utcnow
from shopify_app.platform.shopify.client import AdminClient
from shopify_app.platform.shopify.tokens import exchange_session_token
from shopify_app.platform.shops import install_shop
from shopify_app.worker import sweep_once
from shopify_double.demo import seed_customers
from tests.helpers import run_jobs
from tests.workers import wait_for

STATES = ["ENABLED", "ENABLED", "DISABLED", "INVITED", "DECLINED"]
#: a bulk query of the app's other than the sync's (an export, say).
OTHER_BULK = "{ orders { edges { node { id } } } }"


def _seed(double, shop_domain: str, count: int) -> None:
    rng = random.Random(3)
    for n in range(count):
        double.add_customer(
            shop_domain,
            first_name=f"First{n}",
            last_name=f"Last{n}",
            email=f"sync{n}@example.com",
            state=rng.choice(STATES),
            locale=rng.choice(["en", "fr", "de"]),
        )


def _table(shop_id: int) -> dict[int, tuple]:
    db.session.expire_all()
    rows = db.session.execute(
        select(
            Customer.shopify_id,
            Customer.email,
            Customer.first_name,
            Customer.last_name,
            Customer.state,
            Customer.is_member,
            Customer.locale,
        ).where(Customer.shop_id == shop_id)
    ).all()
    return {r.shopify_id: tuple(r[1:]) for r in rows}


def _double_table(double, shop_domain: str) -> dict[int, tuple]:
    return {
        int(c["id"]): (
            c["email"],
            c["first_name"],
            c["last_name"],
            c["state"],
            c["state"] == "ENABLED",
            c["locale"],
        )
        for c in double.customers(shop_domain)
    }


def _sync_state(shop_id: int) -> Shop:
    db.session.expire_all()
    return db.session.get(Shop, shop_id)


@pytest.mark.slow
def test_sync_survives_throttling_and_a_crash_and_matches_the_double(
    app, shop, shopify_double, workers
):
    _seed(shopify_double, shop.domain, 3000)
    # A small bucket: the sync runs dry part way and must back off on THROTTLED.
    shopify_double.configure_throttle(bucket=700.0, restore_rate=500.0)
    queue_initial_sync(shop)
    first = workers.start()
    wait_for(lambda: _sync_state(shop.id).sync_done >= 1000, timeout=120, interval=0.02)
    first.kill()
    crashed = _sync_state(shop.id)
    assert crashed.sync_status == "running" and crashed.sync_done < 3000
    assert crashed.sync_cursor is not None

    queue_initial_sync(shop)
    run_jobs(app)
    done = _sync_state(shop.id)
    assert done.sync_status == "done" and done.sync_cursor is None
    assert _table(shop.id) == _double_table(shopify_double, shop.domain)
    assert any(call["throttled"] for call in shopify_double.graphql_calls)
    # Resumed from the saved cursor, not from the start: no page after the crash was read twice
    # more than once (the page in flight when it died may be).
    pages = [
        c
        for c in shopify_double.graphql_calls
        if c["operation_name"] == "CustomersPage" and not c["throttled"]
    ]
    assert len(pages) <= 3000 // sync.PAGE_SIZE + 2


def test_large_store_syncs_through_a_bulk_operation(app, shop, shopify_double, monkeypatch):
    _seed(shopify_double, shop.domain, 600)
    monkeypatch.setattr(sync, "BULK_THRESHOLD", 100)
    queue_initial_sync(shop)
    run_jobs(app)
    assert _sync_state(shop.id).sync_status == "done"
    assert _table(shop.id) == _double_table(shopify_double, shop.domain)
    assert any(c["operation_name"] == "RunBulk" for c in shopify_double.graphql_calls)


def test_resync_button_runs_the_sync_again(app, admin, shop, shopify_double):
    _seed(shopify_double, shop.domain, 30)
    response = admin.post("/sync")
    assert response.status_code == 302
    assert _sync_state(shop.id).sync_status == "queued"
    run_jobs(app)
    assert len(_table(shop.id)) == 30
    home = admin.get("/")
    assert b"Resync customers" in home.data


@pytest.mark.parametrize("count", [0, 1])
def test_tiny_stores_sync(app, shop, shopify_double, count):
    _seed(shopify_double, shop.domain, count)
    queue_initial_sync(shop)
    run_jobs(app)
    assert _sync_state(shop.id).sync_status == "done"
    assert len(_table(shop.id)) == count


@pytest.mark.slow
def test_store_over_ten_thousand_is_counted_exactly_and_bulk_synced(
    app, shop, shopify_double, monkeypatch
):

    seed_customers(shopify_double, shop.domain, 10_050)
    monkeypatch.setattr(sync, "BULK_THRESHOLD", 10_000)
    queue_initial_sync(shop)
    run_jobs(app)
    done = _sync_state(shop.id)
    assert (done.sync_status, done.sync_total, done.sync_done) == ("done", 10_050, 10_050)
    assert any(c["operation_name"] == "RunBulk" for c in shopify_double.graphql_calls)
    assert len(_table(shop.id)) == 10_050


def _start_bulk(client: AdminClient, query: str) -> str:
    result = client.execute(sync.BULK_RUN, {"query": query})["bulkOperationRunQuery"]
    assert result["userErrors"] == []
    return result["bulkOperation"]["id"]


def _impatient(on_first: Callable[[], None] = lambda: None) -> Callable[[float], None]:
    """A sleep for the bulk poll that gives up after a few seconds instead of an hour."""
    calls: list[float] = []

    def sleep(seconds: float) -> None:
        if not calls:
            on_first()
        calls.append(seconds)
        assert len(calls) < 60, "the sync kept waiting on a bulk operation that is not its own"
        time.sleep(0.05)

    return sleep


def _assert_synced(shop_id: int, double, domain: str, count: int) -> None:
    done = _sync_state(shop_id)
    assert (done.sync_status, done.sync_done, done.sync_cursor) == ("done", count, None)
    assert _table(shop_id) == _double_table(double, domain)
    assert [c["deprecations"] for c in double.graphql_calls if c["deprecations"]] == []


def test_a_resumed_bulk_sync_polls_its_own_operation_while_another_runs(
    app, shop, shopify_double, monkeypatch
):
    """The saved cursor names our operation; "the current one" is another the app started
    since, still running: the resumed sync must finish on its own, not wait an hour."""
    _seed(shopify_double, shop.domain, 300)
    monkeypatch.setattr(sync, "BULK_THRESHOLD", 100)
    client = AdminClient(shop)
    ours = _start_bulk(client, sync.BULK_INNER)
    shop.sync_status, shop.sync_total, shop.sync_cursor = "running", 300, f"bulk:{ours}:0"
    db.session.commit()  # ...and then the worker died.
    shopify_double.bulk_delay = 3600
    _start_bulk(client, OTHER_BULK)

    sync.run_sync(shop, client, sleep=_impatient())

    _assert_synced(shop.id, shopify_double, shop.domain, 300)


def test_a_bulk_query_started_while_the_sync_waits_does_not_confuse_it(
    app, shop, shopify_double, monkeypatch
):
    _seed(shopify_double, shop.domain, 300)
    monkeypatch.setattr(sync, "BULK_THRESHOLD", 100)
    client = AdminClient(shop)
    shopify_double.bulk_delay = 0.3  # ours runs a moment, so the sync polls

    def another_starts() -> None:
        shopify_double.bulk_delay = 3600
        _start_bulk(client, OTHER_BULK)

    sync.run_sync(shop, client, sleep=_impatient(another_starts))

    _assert_synced(shop.id, shopify_double, shop.domain, 300)
    polls = [c for c in shopify_double.graphql_calls if c["operation_name"] == "BulkStatus"]
    assert len(polls) >= 2


def test_a_resync_makes_members_of_customers_shopify_enabled_without_touching_updated_at(
    app, admin, shop, shopify_double
):
    """Shopify's one-time update enabled customers who had signed in since May 2024, with no
    webhook and often the same `updated_at`: a resync must still make them Members."""
    d = shopify_double
    signed_in = d.add_customer(
        shop.domain, first_name="Ines", email="ines@example.com", state="DISABLED"
    )
    queue_initial_sync(shop)
    run_jobs(app)
    assert _table(shop.id)[signed_in["id"]][3:5] == ("DISABLED", False)

    before = d.customers(shop.domain)[0]["updated_at"]
    d.update_customer(shop.domain, signed_in["id"], state="ENABLED", touch=False)
    assert d.customers(shop.domain)[0]["updated_at"] == before
    assert admin.post("/sync").status_code == 302
    run_jobs(app)

    assert _sync_state(shop.id).sync_status == "done"
    assert _table(shop.id) == _double_table(d, shop.domain)
    assert _table(shop.id)[signed_in["id"]][3:5] == ("ENABLED", True)


def test_a_sync_page_read_before_a_newer_webhook_does_not_undo_it(ctx, shop, shopify_double):
    """The staleness rule still holds for a sync: data older than what a webhook stored
    changes nothing, the state included."""
    d = shopify_double
    record = d.add_customer(shop.domain, first_name="Old", email="jo@example.com", state="INVITED")
    node = {
        "id": record["admin_graphql_api_id"],
        "firstName": "Old",
        "lastName": "",
        "defaultEmailAddress": {"emailAddress": "jo@example.com"},
        "locale": "en",
        "state": "INVITED",
        "tags": [],
        "updatedAt": record["updated_at"],
    }
    newer = d.update_customer(shop.domain, record["id"], first_name="New", state="ENABLED")
    upsert_shopify_customer(shop, ShopifyCustomer.from_rest(d.customer_payload(shop.domain, newer)))
    db.session.commit()

    sync.upsert_batch(shop, [node])
    db.session.commit()

    assert _table(shop.id)[record["id"]][1:5] == ("New", "", "ENABLED", True)


def _stalled(shop_id: int, **fields) -> None:
    """As if the sync's last progress was an hour ago."""
    db.session.execute(
        update(Shop)
        .where(Shop.id == shop_id)
        .values(updated_at=utcnow() - timedelta(hours=1), **fields)
    )
    db.session.commit()


def test_a_sync_whose_job_redis_lost_is_queued_again_by_the_sweeper_and_completes(
    app, shop, shopify_double
):
    _seed(shopify_double, shop.domain, 30)
    queue_initial_sync(shop)
    queue().empty()  # as if Redis lost the job after the install committed
    _stalled(shop.id)

    sweep_once(app, force=True)
    run_jobs(app)

    done = _sync_state(shop.id)
    assert (done.sync_status, done.sync_done, done.sync_attempts) == ("done", 30, 1)
    assert _table(shop.id) == _double_table(shopify_double, shop.domain)


def test_a_sync_whose_job_waits_its_turn_in_redis_is_left_alone(app, shop, shopify_double):
    _seed(shopify_double, shop.domain, 3)
    queue_initial_sync(shop)  # a busy queue: the job has not started yet
    _stalled(shop.id)

    assert sweep_syncs() == 0
    assert _sync_state(shop.id).sync_attempts == 0 and queue().count == 1
    run_jobs(app)
    assert _sync_state(shop.id).sync_status == "done"


def test_a_sync_that_keeps_stalling_is_given_up_and_the_home_page_says_so(app, admin, shop):
    _stalled(shop.id, sync_status="running", sync_attempts=sweeps.MAX_ATTEMPTS)

    assert sweep_syncs() == 0
    assert _sync_state(shop.id).sync_status == "failed" and queue().count == 0
    home = admin.get("/").data.decode()
    assert f"and was resumed {sweeps.MAX_ATTEMPTS} times" in home
    assert "Resync customers" in home


@pytest.mark.slow
def test_a_sync_whose_worker_died_is_resumed_by_the_sweeper(app, shop, shopify_double, workers):
    """No one queues it again by hand: the next worker's sweeper sees no progress within the
    lease and resumes the sync from its cursor."""
    _seed(shopify_double, shop.domain, 3000)
    shopify_double.configure_throttle(bucket=700.0, restore_rate=500.0)
    queue_initial_sync(shop)
    first = workers.start()
    wait_for(lambda: _sync_state(shop.id).sync_done >= 1000, timeout=120, interval=0.02)
    first.kill()
    crashed = _sync_state(shop.id)
    assert crashed.sync_status == "running" and crashed.sync_done < 3000

    Redis.from_url(app.config["REDIS_URL"]).delete("shopify_app:sweeper")
    workers.start(SYNC_LEASE_SECONDS="2", SWEEP_INTERVAL_SECONDS="1")
    wait_for(lambda: _sync_state(shop.id).sync_status == "done", timeout=120)

    done = _sync_state(shop.id)
    assert (done.sync_done, done.sync_attempts) == (3000, 1)
    assert _table(shop.id) == _double_table(shopify_double, shop.domain)
    pages = [
        c
        for c in shopify_double.graphql_calls
        if c["operation_name"] == "CustomersPage" and not c["throttled"]
    ]
    assert len(pages) <= 3000 // sync.PAGE_SIZE + 2


def test_a_sync_takes_the_stores_name_currency_and_time_zone_from_shopify(app, ctx, shopify_double):
    """Points per unit, money and days follow the store: a yen shop is not a dollar shop."""
    shopify_double.add_shop(
        "yen-store.myshopify.com", name="Yen Store", currency="JPY", timezone="Asia/Tokyo"
    )
    grant = exchange_session_token(
        "yen-store.myshopify.com", shopify_double.session_token("yen-store.myshopify.com")
    )
    shop = install_shop("yen-store.myshopify.com", grant)
    db.session.commit()
    assert (shop.currency, shop.timezone) == ("USD", "UTC")
    queue_initial_sync(shop)
    run_jobs(app)
    db.session.expire_all()
    stored = db.session.get(Shop, shop.id)
    assert (stored.name, stored.currency, stored.timezone) == ("Yen Store", "JPY", "Asia/Tokyo")


def test_a_failed_sync_tells_the_merchant_in_their_words_not_the_exception(
    app, admin, shop, shopify_double
):
    _seed(shopify_double, shop.domain, 5)
    shopify_double.fail_next(500, n=50)
    with pytest.raises(Exception):  # noqa: B017 - the job re-raises for RQ's retry
        sync_customers(shop.id)

    state = _sync_state(shop.id)
    assert state.sync_status == "failed"
    assert "couldn't read your customers from Shopify" in state.sync_error
    home = admin.get("/").get_data(as_text=True)
    assert "couldn&#39;t read your customers from Shopify" in home
    assert "Admin API" not in home and "500" not in state.sync_error
