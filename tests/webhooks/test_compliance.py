"""The mandatory compliance topics really export and really erase."""

from __future__ import annotations

import json
import logging

import pytest
from sqlalchemy import func, inspect, select, text

from shopify_app.loyalty.ledger import add_points
from shopify_app.platform.extensions import db
from shopify_app.platform.models import (
    Customer,
    DataRequest,
    Order,
    PointsEntry,
    Shop,
    WebhookEvent,
)
from tests.helpers import deliver, make_shop, run_jobs
from webhooks.drain import MAX_ATTEMPTS

NAME, LAST, EMAIL = "Zephyrine", "Quillfeather", "zephyrine.q@example.com"


def _all_text() -> str:
    """Every row of every table, as text, to search for a person's traces."""
    dump = []
    for table in inspect(db.engine).get_table_names():
        if table == "alembic_version":
            continue
        rows = db.session.execute(text(f'SELECT * FROM "{table}"')).all()
        dump.extend(json.dumps([str(v) for v in row]) for row in rows)
    return "\n".join(dump).lower()


def _customer_with_history(client, d, shop):
    c = d.add_customer(shop.domain, first_name=NAME, last_name=LAST, email=EMAIL)
    deliver(client, d, "customers/create", shop.domain, d.customer_payload(shop.domain, c))
    o = d.add_order(shop.domain, customer_id=c["id"], total="12.00")
    deliver(client, d, "orders/paid", shop.domain, d.order_payload(shop.domain, o))
    return c, o


def test_customers_redact_leaves_no_trace_of_name_or_email(app, client, shop, shopify_double):
    d = shopify_double
    c, _ = _customer_with_history(client, d, shop)
    run_jobs(app)
    assert NAME.lower() in _all_text() and EMAIL in _all_text()
    deliver(
        client,
        d,
        "customers/redact",
        shop.domain,
        d.compliance_payload("customers/redact", shop.domain, c),
    )
    run_jobs(app)
    db.session.expire_all()
    dump = _all_text()
    for trace in (NAME.lower(), LAST.lower(), EMAIL):
        assert trace not in dump
    # Anonymous aggregates stay: the order still counts.
    assert db.session.execute(select(func.sum(Order.total_minor))).scalar_one() == 1200
    redacted = db.session.execute(select(Customer)).scalar_one()
    assert redacted.redacted_at is not None and redacted.email is None


def test_data_request_produces_the_customers_data(app, client, shop, shopify_double):
    d = shopify_double
    c, o = _customer_with_history(client, d, shop)
    deliver(
        client,
        d,
        "customers/data_request",
        shop.domain,
        d.compliance_payload("customers/data_request", shop.domain, c),
    )
    run_jobs(app)
    request = db.session.execute(select(DataRequest)).scalar_one()
    assert request.data["customer"]["email"] == EMAIL
    assert request.data["orders"][0]["total_minor"] == 1200


def test_shop_redact_erases_the_shop_and_only_that_shop(app, client, shop, shopify_double):
    d = shopify_double
    shop_id = shop.id
    other = make_shop(d, "keeper.myshopify.com")
    _customer_with_history(client, d, shop)
    k = d.add_customer(other.domain, first_name="Keep", email="keep@example.com")
    deliver(client, d, "customers/create", other.domain, d.customer_payload(other.domain, k))
    run_jobs(app)
    # The ledger has no foreign keys (a check per row cost a third of an import): its rows must
    # go by shop/redact itself.
    for owner in (shop, other):
        customer = db.session.execute(
            select(Customer).where(Customer.shop_id == owner.id)
        ).scalar_one()
        add_points(owner, customer, 25, description="Welcome bonus")
    db.session.commit()
    # shop/redact comes 48 hours after uninstall: the shop is no longer installed.
    deliver(client, d, "app/uninstalled", shop.domain, d.shop_payload(shop.domain))
    run_jobs(app)
    deliver(client, d, "shop/redact", shop.domain, d.compliance_payload("shop/redact", shop.domain))
    run_jobs(app)
    db.session.expire_all()
    assert db.session.execute(select(Shop.domain)).scalars().all() == ["keeper.myshopify.com"]
    for table in inspect(db.engine).get_table_names():
        columns = {c["name"] for c in inspect(db.engine).get_columns(table)}
        if "shop_id" in columns:
            leftover = db.session.execute(
                text(f'SELECT count(*) FROM "{table}" WHERE shop_id = :id'), {"id": shop_id}
            ).scalar_one()
            assert leftover == 0, table
    assert "test-shop" not in _all_text()
    assert db.session.execute(select(Customer.first_name)).scalars().all() == ["Keep"]
    assert db.session.execute(select(PointsEntry.description)).scalars().all() == ["Welcome bonus"]


def _event(topic: str) -> WebhookEvent:
    db.session.expire_all()
    return db.session.execute(select(WebhookEvent).where(WebhookEvent.topic == topic)).scalar_one()


def _uninstall(client, d, domain: str) -> None:
    deliver(client, d, "app/uninstalled", domain, d.shop_payload(domain))


@pytest.mark.parametrize("topic", ["customers/data_request", "customers/redact", "shop/redact"])
@pytest.mark.parametrize("direction", ["payload-names-other", "header-names-other"])
def test_payload_naming_another_shop_changes_neither_and_is_recorded_as_refused(
    app, client, shop, shopify_double, topic, direction
):
    """The header's shop is never exported or erased on the payload's say, nor the reverse."""
    d = shopify_double
    other = make_shop(d, "bystander.myshopify.com")
    domains = sorted([shop.domain, other.domain])  # as text: a deleted row cannot be read
    people = {}
    for owner in (shop, other):
        person = d.add_customer(owner.domain, first_name=NAME, last_name=LAST, email=EMAIL)
        created = d.customer_payload(owner.domain, person)
        deliver(client, d, "customers/create", owner.domain, created)
        people[owner.domain] = person
        _uninstall(client, d, owner.domain)  # shop/redact comes after an uninstall
    run_jobs(app)
    header, named = (shop, other) if direction == "payload-names-other" else (other, shop)
    customer = None if topic == "shop/redact" else people[header.domain]
    payload = d.compliance_payload(topic, header.domain, customer)
    payload["shop_domain"] = named.domain
    deliver(client, d, topic, header.domain, payload)
    run_jobs(app)
    db.session.expire_all()
    assert sorted(db.session.execute(select(Shop.domain)).scalars()) == domains
    assert db.session.execute(select(Customer.first_name)).scalars().all() == [NAME, NAME]
    assert db.session.execute(select(func.count()).select_from(DataRequest)).scalar_one() == 0
    event = _event(topic)
    assert event.status == "failed" and event.error.startswith("refused: the payload names")
    assert event.attempts >= MAX_ATTEMPTS  # the sweeper leaves it: no retry can change it


def test_shop_redact_for_an_installed_shop_changes_nothing_and_is_logged(
    app, client, shop, shopify_double, caplog
):
    d, domain = shopify_double, shop.domain
    _customer_with_history(client, d, shop)
    run_jobs(app)
    caplog.set_level(logging.WARNING, logger="webhooks.compliance")
    deliver(client, d, "shop/redact", domain, d.compliance_payload("shop/redact", domain))
    run_jobs(app)
    db.session.expire_all()
    assert db.session.execute(select(Shop.domain)).scalars().all() == [domain]
    assert db.session.execute(select(Customer.email)).scalars().all() == [EMAIL]
    assert db.session.execute(select(func.count()).select_from(Order)).scalar_one() == 1
    assert _event("shop/redact").status == "processed"
    assert f"shop/redact for {domain} ignored: the app is installed" in caplog.text
