"""Uninstall, shop/redact and customers/redact take the key and what waits for Klaviyo;
customers/redact also deletes in Klaviyo the profile that was sent."""

from __future__ import annotations

from sqlalchemy import func, select

from shopify_app.integrations.klaviyo.jobs import sweep_klaviyo
from shopify_app.integrations.klaviyo.sync import pending
from shopify_app.platform.extensions import db
from shopify_app.platform.models import KlaviyoConnection, KlaviyoProfile
from shopify_app.program.config import join_program
from tests.helpers import deliver, make_shop, run_jobs
from tests.klaviyo.conftest import KEY, joined_events, stored, uninstall_and_redact
from tests.referrals.conftest import add_customer


def count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def test_app_uninstalled_deletes_the_key_and_the_sync_state(app, client, connected, shopify_double):
    other = make_shop(shopify_double, "keeper.myshopify.com")
    db.session.add(
        KlaviyoConnection(shop_id=other.id, api_key_encrypted="x", key_hint="abcd", account_name="")
    )
    customer = add_customer(shopify_double, connected, email="u@example.com")
    join_program(connected, customer)
    db.session.commit()
    run_jobs(app)
    assert count(KlaviyoProfile) == 1
    deliver(client, shopify_double, "app/uninstalled", connected.domain, {"id": 1})
    run_jobs(app)
    assert stored(connected) is None and count(KlaviyoProfile) == 0
    assert stored(other) is not None  # another shop's connection stays


def test_shop_redact_deletes_the_klaviyo_rows(app, client, connected, shopify_double):
    customer = add_customer(shopify_double, connected, email="s@example.com")
    join_program(connected, customer)
    db.session.commit()
    run_jobs(app)
    uninstall_and_redact(client, shopify_double, connected)
    run_jobs(app)
    assert count(KlaviyoConnection) == 0 and count(KlaviyoProfile) == 0


def test_customers_redact_drops_what_waits_for_that_customer(
    app, client, connected, shopify_double, klaviyo
):
    kept = add_customer(shopify_double, connected, email="kept@example.com")
    gone = add_customer(shopify_double, connected, email="gone@example.com")
    sent = add_customer(shopify_double, connected, email="sent@example.com")
    join_program(connected, sent)
    db.session.commit()
    run_jobs(app)
    klaviyo.go_down()  # what follows waits
    join_program(connected, kept)
    join_program(connected, gone)
    db.session.commit()
    run_jobs(app)
    assert {p.email for p in pending(connected)} == {"kept@example.com", "gone@example.com"}
    for customer in (gone, sent):
        deliver(
            client,
            shopify_double,
            "customers/redact",
            connected.domain,
            shopify_double.compliance_payload(
                "customers/redact", connected.domain, customer.shopify_id
            ),
        )
    run_jobs(app)
    assert [p.email for p in pending(connected)] == ["kept@example.com"]
    assert db.session.scalars(select(KlaviyoProfile.customer_id)).all() == []
    klaviyo.come_up()
    db.session.execute(KlaviyoConnection.__table__.update().values(retry_at=None))
    db.session.commit()
    assert sweep_klaviyo() == 1
    run_jobs(app)
    # The one sent is deleted in Klaviyo (events too); the one never sent causes no call.
    assert [e.email for e in joined_events(klaviyo)] == ["kept@example.com"]
    assert set(klaviyo.profiles(KEY)) == {"kept@example.com"}
    assert [d.identifier for d in klaviyo.deletions(KEY)] == ["sent@example.com"]
