"""customers/* keep Members and Guests true, whatever order deliveries arrive in."""

from __future__ import annotations

import logging

from sqlalchemy import select

from shopify_app.customers.sync_jobs import queue_initial_sync
from shopify_app.platform.extensions import db
from shopify_app.platform.models import Customer, Shop
from tests.factories import make_contact
from tests.helpers import deliver, make_shop, run_jobs
from webhooks import registry


def _stored(shopify_id: int) -> Customer:
    db.session.expire_all()
    return db.session.execute(
        select(Customer).where(Customer.shopify_id == shopify_id)
    ).scalar_one()


def test_member_or_guest_follows_state_through_create_and_update(app, client, shop, shopify_double):
    d = shopify_double
    c = d.add_customer(
        shop.domain,
        first_name="Grace",
        last_name="Hopper",
        email="grace@example.com",
        state="INVITED",
    )
    deliver(client, d, "customers/create", shop.domain, d.customer_payload(shop.domain, c))
    run_jobs(app)
    assert _stored(c["id"]).is_member is False
    c = d.update_customer(shop.domain, c["id"], state="ENABLED")
    deliver(client, d, "customers/update", shop.domain, d.customer_payload(shop.domain, c))
    run_jobs(app)
    stored = _stored(c["id"])
    assert (stored.is_member, stored.state) == (True, "ENABLED")
    c = d.update_customer(shop.domain, c["id"], state="DISABLED")
    deliver(client, d, "customers/update", shop.domain, d.customer_payload(shop.domain, c))
    run_jobs(app)
    assert _stored(c["id"]).is_member is False


def test_update_before_create_ends_in_the_newest_state(app, client, shop, shopify_double):
    d = shopify_double
    c = d.add_customer(shop.domain, first_name="Old", email="x@example.com", state="INVITED")
    created = d.customer_payload(shop.domain, c)
    c = d.update_customer(shop.domain, c["id"], first_name="New", state="ENABLED")
    updated = d.customer_payload(shop.domain, c)
    deliver(client, d, "customers/update", shop.domain, updated)
    deliver(client, d, "customers/create", shop.domain, created)
    run_jobs(app)
    stored = _stored(c["id"])
    assert (stored.first_name, stored.is_member) == ("New", True)


def test_stale_update_after_a_newer_one_changes_nothing(app, client, shop, shopify_double):
    d = shopify_double
    c = d.add_customer(shop.domain, first_name="A", email="a@example.com")
    deliver(client, d, "customers/create", shop.domain, d.customer_payload(shop.domain, c))
    older = d.customer_payload(
        shop.domain, d.update_customer(shop.domain, c["id"], first_name="Older")
    )
    newer = d.customer_payload(
        shop.domain, d.update_customer(shop.domain, c["id"], first_name="Newer")
    )
    deliver(client, d, "customers/update", shop.domain, newer)
    run_jobs(app)
    deliver(client, d, "customers/update", shop.domain, older)
    run_jobs(app)
    assert _stored(c["id"]).first_name == "Newer"


def test_update_after_delete_does_not_revive(app, client, shop, shopify_double):
    d = shopify_double
    c = d.add_customer(shop.domain, first_name="Gone", email="gone@example.com")
    deliver(client, d, "customers/create", shop.domain, d.customer_payload(shop.domain, c))
    late_update = d.customer_payload(
        shop.domain, d.update_customer(shop.domain, c["id"], first_name="Zombie")
    )
    d.delete_customer(shop.domain, c["id"])
    deliver(client, d, "customers/delete", shop.domain, {"id": c["id"]})
    run_jobs(app)
    deliver(client, d, "customers/update", shop.domain, late_update)
    run_jobs(app)
    stored = _stored(c["id"])
    assert stored.deleted_at is not None and stored.first_name == "Gone"


def test_delete_before_create_stays_deleted(app, client, shop, shopify_double):
    d = shopify_double
    c = d.add_customer(shop.domain, first_name="Brief", email="brief@example.com")
    created = d.customer_payload(shop.domain, c)
    deliver(client, d, "customers/delete", shop.domain, {"id": c["id"]})
    deliver(client, d, "customers/create", shop.domain, created)
    run_jobs(app)
    assert _stored(c["id"]).deleted_at is not None


def test_imported_contact_is_linked_by_email(app, client, shop, shopify_double):

    db.session.add(make_contact(shop, "Linked@Example.com", first_name="Imported"))
    db.session.commit()
    d = shopify_double
    c = d.add_customer(shop.domain, first_name="Linked", email="linked@example.com")
    deliver(client, d, "customers/create", shop.domain, d.customer_payload(shop.domain, c))
    run_jobs(app)
    db.session.expire_all()
    rows = db.session.execute(select(Customer)).scalars().all()
    assert len(rows) == 1 and rows[0].shopify_id == c["id"] and rows[0].first_name == "Linked"


def test_a_run_of_customer_deliveries_ends_as_the_same_deliveries_one_by_one(
    app, client, shop, shopify_double, caplog
):
    """A drain batch upserts consecutive customers/* deliveries set-wise; the result must be
    the one the same deliveries give one at a time (on a second shop)."""

    d = shopify_double
    other = make_shop(d, "customers-one-by-one.myshopify.com")

    def stream(domain: str, shop_id: int) -> list[tuple[str, dict]]:
        make_contact(db.session.get(Shop, shop_id), "d@x.io", first_name="Imported")
        db.session.commit()
        a = d.add_customer(domain, first_name="A1", email="a@x.io", state="INVITED")
        a_created = d.customer_payload(domain, a)
        a_newer = d.customer_payload(domain, d.update_customer(domain, a["id"], first_name="A2"))
        b = d.add_customer(domain, first_name="B1", email="b@x.io")
        b_created = d.customer_payload(domain, b)
        b_updated = d.customer_payload(
            domain, d.update_customer(domain, b["id"], first_name="B2", state="ENABLED")
        )
        c = d.customer_payload(domain, d.add_customer(domain, first_name="C", email="c@x.io"))
        linked = d.customer_payload(domain, d.add_customer(domain, first_name="D", email="d@x.io"))
        e = d.add_customer(domain, first_name="E1", email="e@x.io")
        e_created = d.customer_payload(domain, e)
        deliver(client, d, "customers/create", domain, e_created, webhook_id=f"{domain}-e")
        run_jobs(app)  # E is stored before the run
        e_newer = d.customer_payload(
            domain, d.update_customer(domain, e["id"], first_name="E2", state="DISABLED")
        )
        return [
            ("customers/update", e_newer),
            ("customers/update", e_created),  # stale
            ("customers/create", a_created),
            ("customers/update", a_newer),
            ("customers/update", a_created),  # stale
            ("customers/update", b_updated),  # before its create
            ("customers/create", b_created),
            ("customers/create", c),
            ("customers/create", c),  # the same again, under another delivery id
            ("customers/create", linked),  # links the imported contact
        ]

    def outcome(shop_id: int) -> list[tuple]:
        db.session.expire_all()
        rows = db.session.scalars(
            select(Customer).where(Customer.shop_id == shop_id).order_by(Customer.email_key)
        )
        return [
            (c.email_key, c.first_name, c.state, c.is_member, c.shopify_id is not None)
            for c in rows
        ]

    batched, single = stream(shop.domain, shop.id), stream(other.domain, other.id)
    for n, (topic, payload) in enumerate(batched):
        deliver(client, d, topic, shop.domain, payload, webhook_id=f"run-{n}")
    with caplog.at_level(logging.WARNING, logger="webhooks.drain"):
        run_jobs(app)
    assert "one by one" not in caplog.text
    for n, (topic, payload) in enumerate(single):
        deliver(client, d, topic, other.domain, payload, webhook_id=f"single-{n}")
        run_jobs(app)

    assert (
        outcome(shop.id)
        == outcome(other.id)
        == [
            ("a@x.io", "A2", "INVITED", False, True),
            ("b@x.io", "B2", "ENABLED", True, True),
            ("c@x.io", "C", "ENABLED", True, True),
            ("d@x.io", "D", "ENABLED", True, True),
            ("e@x.io", "E2", "DISABLED", False, True),
        ]
    )


def _synced_with_tags(app, shop, double, *names: str) -> list[dict]:
    """Customers with tags in Shopify, stored by the initial sync (which reads tags)."""
    customers = [
        double.add_customer(
            shop.domain, first_name=name, email=f"{name.lower()}@example.com", tags=[name, "vip"]
        )
        for name in names
    ]
    queue_initial_sync(shop)
    run_jobs(app)
    for c in customers:
        assert _stored(c["id"]).tags == f"{c['first_name']}, vip"
    return customers


def test_a_customer_update_keeps_the_tags_the_sync_stored(app, client, shop, shopify_double):
    """Customer webhooks carry no `tags` since 2025-01: an update must not erase them."""
    d = shopify_double
    [c] = _synced_with_tags(app, shop, d, "Tia")
    payload = d.customer_payload(
        shop.domain, d.update_customer(shop.domain, c["id"], last_name="T")
    )
    assert "tags" not in payload
    deliver(client, d, "customers/update", shop.domain, payload)
    run_jobs(app)
    stored = _stored(c["id"])
    assert (stored.last_name, stored.tags) == ("T", "Tia, vip")


def test_a_run_of_customer_updates_keeps_the_tags_the_sync_stored(
    app, client, shop, shopify_double, caplog, monkeypatch
):
    """The same through the set-wise run path a drain batch takes for consecutive updates."""
    d = shopify_double
    customers = _synced_with_tags(app, shop, d, "Uma", "Ved")
    runs: list[int] = []
    set_wise = registry.RUNS["customers/update"]

    def spy(shop, deliveries) -> None:
        runs.append(len(deliveries))
        set_wise(shop, deliveries)

    monkeypatch.setitem(registry.RUNS, "customers/update", spy)
    for c in customers:
        payload = d.customer_payload(
            shop.domain, d.update_customer(shop.domain, c["id"], last_name="Run")
        )
        deliver(client, d, "customers/update", shop.domain, payload)
    with caplog.at_level(logging.WARNING, logger="webhooks.drain"):
        run_jobs(app)
    assert runs == [2] and "one by one" not in caplog.text
    for c in customers:
        stored = _stored(c["id"])
        assert (stored.last_name, stored.tags) == ("Run", f"{c['first_name']}, vip")


def test_customers_enable_and_disable_make_a_member_and_a_guest(app, client, shop, shopify_double):
    """Subscribed topics: a first sign-in to customer accounts sends customers/enable; a
    disabled account customers/disable (each with a customers/update, not needed here)."""
    d = shopify_double
    c = d.add_customer(shop.domain, first_name="Kai", email="kai@example.com", state="DISABLED")
    deliver(client, d, "customers/create", shop.domain, d.customer_payload(shop.domain, c))
    run_jobs(app)
    assert _stored(c["id"]).is_member is False

    enabled = d.customer_payload(shop.domain, d.sign_in_customer(shop.domain, c["id"], False))
    assert deliver(client, d, "customers/enable", shop.domain, enabled) == "accepted"
    run_jobs(app)
    assert (_stored(c["id"]).state, _stored(c["id"]).is_member) == ("ENABLED", True)

    disabled = d.customer_payload(shop.domain, d.disable_customer(shop.domain, c["id"], False))
    assert deliver(client, d, "customers/disable", shop.domain, disabled) == "accepted"
    run_jobs(app)
    assert (_stored(c["id"]).state, _stored(c["id"]).is_member) == ("DISABLED", False)


def test_customers_enable_applies_even_if_updated_at_did_not_move(
    app, client, shop, shopify_double
):
    d = shopify_double
    c = d.add_customer(shop.domain, first_name="Lea", email="lea@example.com", state="DISABLED")
    deliver(client, d, "customers/create", shop.domain, d.customer_payload(shop.domain, c))
    run_jobs(app)
    same_time = d.update_customer(shop.domain, c["id"], state="ENABLED", touch=False)
    assert same_time["updated_at"] == c["updated_at"]
    stale_update = d.customer_payload(shop.domain, same_time)
    deliver(client, d, "customers/update", shop.domain, stale_update)  # same time: skipped
    run_jobs(app)
    assert _stored(c["id"]).is_member is False
    deliver(client, d, "customers/enable", shop.domain, stale_update)
    run_jobs(app)
    assert _stored(c["id"]).is_member is True
