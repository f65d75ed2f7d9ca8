"""Points on paid orders through signed webhooks and the real drain: earned once, reversed by
refunds in proportion and by cancellation in full, whatever order the webhooks arrive in."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import select

from shopify_app.loyalty.ledger import add_points
from shopify_app.platform.extensions import db
from shopify_app.platform.models import Customer, Order, PointsEntry
from tests.helpers import deliver, make_shop, run_jobs
from tests.loyalty.conftest import balance, history, set_rules


@pytest.fixture
def anna(app, client, shop, shopify_double):
    d = shopify_double
    record = d.add_customer(shop.domain, first_name="Anna", email="anna@example.com")
    deliver(client, d, "customers/create", shop.domain, d.customer_payload(shop.domain, record))
    run_jobs(app)
    return record


@pytest.fixture
def earning(shop):
    set_rules(shop, earn_orders=True, earn_per_unit=1)


def _send(client, double, shop, topic: str, payload: dict, webhook_id: str | None = None) -> None:
    extra = {"webhook_id": webhook_id} if webhook_id else {}
    deliver(client, double, topic, shop.domain, payload, **extra)


def _story(double, shop, customer, total: str = "50.00", refund: str | None = "20.00"):
    """An order as Shopify saw it: the paid payload, then a refund's and the cancellation's."""
    order = double.add_order(shop.domain, customer_id=customer["id"], total=total)
    paid = double.order_payload(shop.domain, order)
    refund = double.refund_order(shop.domain, order["id"], amount=refund) if refund else None
    refunded = double.refund_payload(shop.domain, refund) if refund else None
    cancelled = double.order_payload(shop.domain, double.cancel_order(shop.domain, order["id"]))
    return {
        "paid": ("orders/paid", paid),
        "refund": ("refunds/create", refunded),
        "cancel": ("orders/cancelled", cancelled),
    }


def test_a_paid_order_earns_per_whole_unit_of_its_subtotal(app, client, shop, shopify_double, anna):
    set_rules(shop, earn_orders=True, earn_per_unit=3)
    order = shopify_double.add_order(shop.domain, customer_id=anna["id"], total="42.99")
    _send(
        client,
        shopify_double,
        shop,
        "orders/paid",
        shopify_double.order_payload(shop.domain, order),
    )
    run_jobs(app)
    assert balance(shop, anna["id"]) == 126
    [(key, points, text)] = history(shop)
    assert (key, points) == (f"order:{order['id']}:earn", 126)
    assert text == f"Order {order['name']}"


@pytest.mark.parametrize("drain_each", [True, False], ids=["drained-each", "one-drain"])
@pytest.mark.parametrize(
    "steps", list(itertools.permutations(["paid", "refund", "cancel"])), ids="-".join
)
def test_every_order_of_paid_refund_and_cancel_ends_at_zero(
    app, client, shop, shopify_double, anna, earning, steps, drain_each
):
    story = _story(shopify_double, shop, anna)
    for step in steps:
        _send(client, shopify_double, shop, *story[step])
        if drain_each:
            run_jobs(app)
            assert balance(shop, anna["id"]) >= 0
    run_jobs(app)
    assert balance(shop, anna["id"]) == 0
    assert sum(points for _, points, _ in history(shop)) == 0


@pytest.mark.parametrize("steps", [("paid", "refund"), ("refund", "paid")], ids="-".join)
def test_a_partial_refund_takes_back_its_share_in_either_order(
    app, client, shop, shopify_double, anna, earning, steps
):
    story = _story(shopify_double, shop, anna, total="50.00", refund="20.00")
    for step in steps:
        _send(client, shopify_double, shop, *story[step])
        run_jobs(app)
    assert balance(shop, anna["id"]) == 30
    rows = history(shop)
    assert [(points, text) for _, points, text in rows] == [
        (50, f"Order {story['paid'][1]['name']}"),
        (-20, f"Refund on order {story['paid'][1]['name']}"),
    ]


def test_two_refunds_that_add_up_to_the_order_take_back_everything(
    app, client, shop, shopify_double, anna, earning
):
    d = shopify_double
    order = d.add_order(shop.domain, customer_id=anna["id"], total="10.01")
    _send(client, d, shop, "orders/paid", d.order_payload(shop.domain, order))
    first = d.refund_order(shop.domain, order["id"], amount="5.00")
    rest = d.refund_order(shop.domain, order["id"])
    # The later refund arrives first: shares follow Shopify's order, not the arrival order.
    _send(client, d, shop, "refunds/create", d.refund_payload(shop.domain, rest))
    _send(client, d, shop, "refunds/create", d.refund_payload(shop.domain, first))
    run_jobs(app)
    assert balance(shop, anna["id"]) == 0


def test_refunded_line_items_count_by_their_subtotal_not_tax_or_shipping(
    app, client, shop, shopify_double, anna, earning
):
    d = shopify_double
    order = d.add_order(shop.domain, customer_id=anna["id"], total="100.00")
    paid = d.order_payload(shop.domain, order)
    # 80.00 of goods after discounts; tax and shipping make the 100.00.
    paid["current_subtotal_price_set"] = {
        "shop_money": {"amount": "80.00", "currency_code": "USD"},
        "presentment_money": {"amount": "80.00", "currency_code": "USD"},
    }
    _send(client, d, shop, "orders/paid", paid)
    refund = d.refund_payload(shop.domain, d.refund_order(shop.domain, order["id"], "50.00"))
    refund["refund_line_items"] = [
        {"quantity": 1, "subtotal": "40.00", "subtotal_set": _money("40.00", "USD", "40.00")}
    ]
    _send(client, d, shop, "refunds/create", refund)
    run_jobs(app)
    assert balance(shop, anna["id"]) == 40  # 80 earned, half of the goods refunded
    # A later orders/updated shows the current subtotal after that refund: nothing changes.
    updated = {**paid, "updated_at": "2099-01-01T00:00:00Z", "refunds": [refund]}
    updated["current_subtotal_price_set"] = _money("40.00", "USD", "40.00")
    _send(client, d, shop, "orders/updated", updated)
    run_jobs(app)
    assert balance(shop, anna["id"]) == 40
    db.session.expire_all()
    assert db.session.scalars(select(Order.subtotal_minor)).one() == 8000


def test_a_refund_larger_than_the_order_takes_back_only_what_it_earned(
    app, client, shop, shopify_double, anna, earning
):
    d = shopify_double
    earlier = d.add_order(shop.domain, customer_id=anna["id"], total="30.00")
    order = d.add_order(shop.domain, customer_id=anna["id"], total="20.00")
    for o in (earlier, order):
        _send(client, d, shop, "orders/paid", d.order_payload(shop.domain, o))
    refund = d.refund_payload(shop.domain, d.refund_order(shop.domain, order["id"], "20.00"))
    refund["transactions"][0]["amount"] = "500.00"
    _send(client, d, shop, "refunds/create", refund)
    run_jobs(app)
    assert balance(shop, anna["id"]) == 30  # the other order's points stay
    assert [p for _, p, _ in history(shop)] == [30, 20, -20]


def test_points_already_spent_are_not_taken_below_zero(
    app, client, shop, shopify_double, anna, earning
):
    d = shopify_double
    story = _story(d, shop, anna, total="50.00", refund=None)
    _send(client, d, shop, *story["paid"])
    run_jobs(app)
    # The shopper spent 45 of their 50 points on a reward.
    add_points(shop, _customer(anna), -45, source="redeem", description="10% off")
    db.session.commit()
    _send(client, d, shop, *story["cancel"])
    run_jobs(app)
    assert balance(shop, anna["id"]) == 0
    assert history(shop)[-1][1] == -5


def test_duplicate_and_replayed_paid_deliveries_earn_once(
    app, client, shop, shopify_double, anna, earning
):
    d = shopify_double
    order = d.add_order(shop.domain, customer_id=anna["id"], total="25.00")
    payload = d.order_payload(shop.domain, order)
    # Twice in one run (new delivery ids), then a replay in a later drain.
    _send(client, d, shop, "orders/paid", payload, webhook_id="paid-1")
    _send(client, d, shop, "orders/paid", payload, webhook_id="paid-2")
    run_jobs(app)
    _send(client, d, shop, "orders/paid", payload, webhook_id="paid-3")
    _send(client, d, shop, "orders/updated", payload, webhook_id="updated-1")
    run_jobs(app)
    assert balance(shop, anna["id"]) == 25
    assert len(history(shop)) == 1


def test_a_run_of_orders_earns_as_one_by_one_with_each_rows_balance(
    app, client, shop, shopify_double, anna, earning
):
    d = shopify_double
    ben = d.add_customer(shop.domain, first_name="Ben", email="ben@example.com")
    _send(client, d, shop, "customers/create", d.customer_payload(shop.domain, ben))
    run_jobs(app)
    orders = [
        d.add_order(shop.domain, customer_id=c["id"], total=t)
        for c, t in ((anna, "10.00"), (ben, "7.50"), (anna, "5.00"), (None, "9.00"))
        if c is not None
    ]
    orders.append(d.add_order(shop.domain, email="guest@example.com", total="9.00"))
    for order in orders:
        _send(client, d, shop, "orders/paid", d.order_payload(shop.domain, order))
    run_jobs(app)
    assert (balance(shop, anna["id"]), balance(shop, ben["id"])) == (15, 7)
    db.session.expire_all()
    rows = db.session.execute(
        select(PointsEntry.customer_id, PointsEntry.delta, PointsEntry.balance_after).order_by(
            PointsEntry.id
        )
    ).all()
    anna_rows = [(delta, after) for cid, delta, after in rows if cid == _customer_id(anna)]
    assert anna_rows == [(10, 10), (5, 15)]


def test_an_order_in_another_currency_earns_on_its_shop_money(
    app, client, shop, shopify_double, anna, earning
):
    d = shopify_double
    order = d.add_order(shop.domain, customer_id=anna["id"], total="40.00", currency="EUR")
    payload = d.order_payload(shop.domain, order)
    payload["subtotal_price"] = "40.00"  # in EUR
    payload["subtotal_price_set"] = _money("44.80", "USD", "40.00", "EUR")
    payload["current_subtotal_price_set"] = _money("44.80", "USD", "40.00", "EUR")
    _send(client, d, shop, "orders/paid", payload)
    run_jobs(app)
    assert balance(shop, anna["id"]) == 44
    # Without a shop-money amount an order in another currency earns nothing.
    other = d.add_order(shop.domain, customer_id=anna["id"], total="40.00", currency="EUR")
    bare = d.order_payload(shop.domain, other)
    del bare["subtotal_price_set"]
    _send(client, d, shop, "orders/paid", bare)
    run_jobs(app)
    assert balance(shop, anna["id"]) == 44


def test_a_zero_decimal_shop_earns_per_yen(ctx, client, shopify_double, app):
    shop = make_shop(shopify_double, "yen-points.myshopify.com", currency="JPY")
    shop.currency = "JPY"
    set_rules(shop, earn_orders=True, earn_per_unit=1)
    d = shopify_double
    c = d.add_customer(shop.domain, first_name="Aki", email="aki@example.jp")
    _send(client, d, shop, "customers/create", d.customer_payload(shop.domain, c))
    order = d.add_order(shop.domain, customer_id=c["id"], total="1500")
    _send(client, d, shop, "orders/paid", d.order_payload(shop.domain, order))
    run_jobs(app)
    assert balance(shop, c["id"]) == 1500


def test_orders_without_a_customer_or_a_positive_subtotal_earn_nothing(
    app, client, shop, shopify_double, anna, earning
):
    d = shopify_double
    guest = d.add_order(shop.domain, email="guest@example.com", total="80.00")
    free = d.add_order(shop.domain, customer_id=anna["id"], total="0.00")
    odd = d.add_order(shop.domain, customer_id=anna["id"], total="10.00")
    odd_payload = d.order_payload(shop.domain, odd)
    odd_payload["subtotal_price_set"] = _money("-5.00", "USD", "-5.00")
    for payload in (d.order_payload(shop.domain, guest), d.order_payload(shop.domain, free)):
        _send(client, d, shop, "orders/paid", payload)
    _send(client, d, shop, "orders/paid", odd_payload)
    cancelled = d.cancel_order(shop.domain, guest["id"])
    _send(client, d, shop, "orders/cancelled", d.order_payload(shop.domain, cancelled))
    run_jobs(app)
    assert balance(shop, anna["id"]) == 0
    assert history(shop) == []


def test_with_the_rule_off_nothing_is_earned_and_turning_it_on_does_not_reward_the_past(
    app, client, shop, shopify_double, anna
):
    d = shopify_double
    order = d.add_order(shop.domain, customer_id=anna["id"], total="60.00")
    payload = d.order_payload(shop.domain, order)
    _send(client, d, shop, "orders/paid", payload)
    run_jobs(app)
    assert history(shop) == []
    set_rules(shop, earn_orders=True)
    later = {**payload, "updated_at": "2099-01-01T00:00:00Z"}
    _send(client, d, shop, "orders/updated", later)  # fulfilled later, say
    refund = d.refund_order(shop.domain, order["id"], "10.00")
    _send(client, d, shop, "refunds/create", d.refund_payload(shop.domain, refund))
    run_jobs(app)
    assert history(shop) == []


def test_reversals_still_follow_an_earning_after_the_rule_is_turned_off(
    app, client, shop, shopify_double, anna, earning
):
    story = _story(shopify_double, shop, anna, refund=None)
    _send(client, shopify_double, shop, *story["paid"])
    run_jobs(app)
    set_rules(shop, earn_orders=False)
    _send(client, shopify_double, shop, *story["cancel"])
    run_jobs(app)
    assert balance(shop, anna["id"]) == 0
    assert history(shop)[-1][2] == f"Order {story['paid'][1]['name']} cancelled"


def _money(shop_amount: str, shop_currency: str, amount: str, currency: str | None = None):
    return {
        "shop_money": {"amount": shop_amount, "currency_code": shop_currency},
        "presentment_money": {"amount": amount, "currency_code": currency or shop_currency},
    }


def _customer(record: dict) -> Customer:
    return db.session.execute(
        select(Customer).where(Customer.shopify_id == record["id"])
    ).scalar_one()


def _customer_id(record: dict) -> int:
    return _customer(record).id
