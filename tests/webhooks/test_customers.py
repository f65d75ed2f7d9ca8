"""customers/* keep Members and Guests true, whatever order deliveries arrive in."""

from __future__ import annotations

from sqlalchemy import select

from shopify_app.extensions import db
from shopify_app.models import Customer
from tests.helpers import deliver, run_jobs


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
    c = d.update_customer(shop.domain, c["id"], state="ENABLED", tags=["vip"])
    deliver(client, d, "customers/update", shop.domain, d.customer_payload(shop.domain, c))
    run_jobs(app)
    stored = _stored(c["id"])
    assert (stored.is_member, stored.state, stored.tags) == (True, "ENABLED", "vip")
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
    from shopify_app.services.customers import email_fields

    db.session.add(
        Customer(shop_id=shop.id, first_name="Imported", **email_fields("Linked@Example.com"))
    )
    db.session.commit()
    d = shopify_double
    c = d.add_customer(shop.domain, first_name="Linked", email="linked@example.com")
    deliver(client, d, "customers/create", shop.domain, d.customer_payload(shop.domain, c))
    run_jobs(app)
    db.session.expire_all()
    rows = db.session.execute(select(Customer)).scalars().all()
    assert len(rows) == 1 and rows[0].shopify_id == c["id"] and rows[0].first_name == "Linked"
