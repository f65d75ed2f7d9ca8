"""The balance metafield: sent after commit, 25 a call, paced by the throttle, exact under races."""

from __future__ import annotations

from typing import Any

import requests
from sqlalchemy import select, update

from shopify_app.loyalty import metafields
from shopify_app.loyalty.ledger import add_points
from shopify_app.platform.extensions import db
from shopify_app.platform.models import PointBalance
from shopify_app.platform.shopify.client import AdminClient
from tests.factories import make_contact
from tests.helpers import make_shop, run_jobs
from tests.loyalty.conftest import shopify_customer


def metafield_calls(double) -> list[dict[str, Any]]:
    return [c for c in double.graphql_calls if c["root_fields"] == ["metafieldsSet"]]


def held(double, shop, customer) -> str | None:
    return double.metafield_value(
        shop.domain, customer.shopify_id, "points", double.app_namespace("loyalty")
    )


def state(customer) -> PointBalance:
    return db.session.execute(
        select(PointBalance)
        .where(PointBalance.customer_id == customer.id)
        .execution_options(populate_existing=True)
    ).scalar_one()


def test_balances_reach_the_metafield_25_a_call_and_guests_are_released(app, shop, shopify_double):
    members = [shopify_customer(shopify_double, shop, f"m{n}@example.com") for n in range(60)]
    guest = make_contact(shop, "guest@example.com")
    for n, customer in enumerate([*members, guest]):
        add_points(shop, customer, 10 + n, source="manual", description="Welcome")
    db.session.commit()
    run_jobs(app)
    calls = metafield_calls(shopify_double)
    assert [len(c["variables"]["metafields"]) for c in calls] == [25, 25, 10]
    assert {m["namespace"] for c in calls for m in c["variables"]["metafields"]} == {"$app:loyalty"}
    assert [held(shopify_double, shop, c) for c in members] == [str(10 + n) for n in range(60)]
    assert all(
        m["namespace"] == "app--4711001--loyalty" for m in shopify_double.metafields(shop.domain)
    )
    assert not state(members[0]).metafield_dirty and state(members[0]).metafield_value == 10
    assert not state(guest).metafield_dirty and state(guest).metafield_value is None


def test_a_throttled_call_is_retried_and_a_small_bucket_is_paced(app, shop, shopify_double):
    members = [shopify_customer(shopify_double, shop, f"p{n}@example.com") for n in range(100)]
    for customer in members:
        add_points(shop, customer, 7, source="manual")
    db.session.commit()
    shopify_double.configure_throttle(bucket=20, restore_rate=50)
    shopify_double.throttle_next(1)
    run_jobs(app)
    calls = metafield_calls(shopify_double)
    # The forced THROTTLED answer is retried; after it the pacer waits for the bucket itself.
    assert [c["throttled"] for c in calls] == [True, False, False, False, False]
    assert all(held(shopify_double, shop, c) == "7" for c in members)


class ChangeDuringCall(requests.Session):
    """An HTTP session that lets another worker change a balance while the first call is out."""

    def __init__(self, change) -> None:
        super().__init__()
        self.change = change

    def post(self, *args: Any, **kwargs: Any) -> requests.Response:
        if self.change is not None:
            self.change()
            self.change = None
        return super().post(*args, **kwargs)


def test_a_change_during_the_sync_stays_dirty_and_goes_in_the_next_one(app, shop, shopify_double):
    ana = shopify_customer(shopify_double, shop, "ana@example.com")
    add_points(shop, ana, 50, source="manual")
    db.session.commit()

    def another_worker_earns() -> None:
        with db.engine.begin() as conn:
            conn.execute(
                update(PointBalance.__table__)
                .where(PointBalance.__table__.c.customer_id == ana.id)
                .values(balance=80)
            )

    client = AdminClient(shop, http=ChangeDuringCall(another_worker_earns))
    first = metafields.run_sync(shop, client)
    assert (first.sent, first.still_dirty) == (1, 1)
    assert held(shopify_double, shop, ana) == "50"
    assert state(ana).metafield_dirty and state(ana).metafield_value == 50
    metafields.run_sync(shop, AdminClient(shop))
    assert held(shopify_double, shop, ana) == "80"
    assert not state(ana).metafield_dirty and state(ana).metafield_value == 80


def test_a_customer_shopify_refuses_is_given_up_and_the_others_are_sent(app, shop, shopify_double):
    ana = shopify_customer(shopify_double, shop, "ana@example.com")
    gone = shopify_customer(shopify_double, shop, "gone@example.com")
    for customer in (ana, gone):
        add_points(shop, customer, 5, source="manual")
    db.session.commit()
    shopify_double.delete_customer(shop.domain, gone.shopify_id)
    result = metafields.run_sync(shop, AdminClient(shop))
    assert (result.sent, result.given_up, result.calls) == (1, 1, 2)
    assert held(shopify_double, shop, ana) == "5"
    assert not state(gone).metafield_dirty


def test_the_sweep_sends_what_a_lost_job_left_dirty_for_its_own_shop_only(
    app, shop, shopify_double
):
    other = make_shop(shopify_double, "other-shop.myshopify.com")
    ana = shopify_customer(shopify_double, shop, "ana@example.com")
    ben = shopify_customer(shopify_double, other, "ben@example.com")
    add_points(shop, ana, 3, source="manual")
    add_points(other, ben, 4, source="manual")
    db.session.commit()
    app.extensions["redis"].flushdb()  # the jobs queued after commit are lost (Redis restarted)
    assert metafields.sweep() == 2
    run_jobs(app)
    assert held(shopify_double, shop, ana) == "3" and held(shopify_double, other, ben) == "4"
    shops_called = {c["shop"] for c in metafield_calls(shopify_double)}
    assert shops_called == {shop.domain, other.domain}
    assert all(len(c["variables"]["metafields"]) == 1 for c in metafield_calls(shopify_double))
