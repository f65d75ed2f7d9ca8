"""orders/* and refunds/create: exact money, stored once, reversed by cancel and refund."""

from __future__ import annotations

from sqlalchemy import select

from shopify_app.platform.extensions import db
from shopify_app.platform.models import Order, Refund, WebhookEvent
from tests.helpers import deliver, make_shop, run_jobs


def _order(shopify_id: int) -> Order:
    db.session.expire_all()
    return db.session.execute(select(Order).where(Order.shopify_id == shopify_id)).scalar_one()


def test_paid_order_is_stored_with_exact_total_currency_and_codes(
    app, client, shop, shopify_double
):
    d = shopify_double
    c = d.add_customer(shop.domain, first_name="Buyer", email="buyer@example.com")
    deliver(client, d, "customers/create", shop.domain, d.customer_payload(shop.domain, c))
    o = d.add_order(
        shop.domain,
        customer_id=c["id"],
        total="19.99",
        currency="EUR",
        discount_codes=[{"code": "FRIEND10", "amount": "2.22", "type": "fixed_amount"}],
    )
    deliver(client, d, "orders/paid", shop.domain, d.order_payload(shop.domain, o))
    run_jobs(app)
    order = _order(o["id"])
    assert (order.total_minor, order.currency, order.discount_codes) == (1999, "EUR", ["FRIEND10"])
    assert order.paid_at is not None and order.customer_id is not None


def test_zero_decimal_currency_is_exact(ctx, client, shopify_double, app):
    shop = make_shop(shopify_double, "yen-shop.myshopify.com", currency="JPY")
    o = shopify_double.add_order(shop.domain, email="a@example.jp", total="1500")
    deliver(
        client,
        shopify_double,
        "orders/paid",
        shop.domain,
        shopify_double.order_payload(shop.domain, o),
    )
    run_jobs(app)
    assert (_order(o["id"]).total_minor, _order(o["id"]).currency) == (1500, "JPY")


def test_refunds_are_applied_once_and_cancel_zeroes_the_order(app, client, shop, shopify_double):
    d = shopify_double
    o = d.add_order(shop.domain, email="r@example.com", total="50.00")
    deliver(client, d, "orders/paid", shop.domain, d.order_payload(shop.domain, o))
    refund = d.refund_order(shop.domain, o["id"], amount="20.00")
    payload = d.refund_payload(shop.domain, refund)
    deliver(client, d, "refunds/create", shop.domain, payload, webhook_id="refund-1")
    # Shopify may send the same refund under a new delivery id: still counted once.
    deliver(client, d, "refunds/create", shop.domain, payload, webhook_id="refund-1-again")
    run_jobs(app)
    order = _order(o["id"])
    assert (order.refunded_minor, order.net_minor) == (2000, 3000)
    assert db.session.execute(select(Refund)).scalars().all()[0].amount_minor == 2000
    cancelled = d.cancel_order(shop.domain, o["id"])
    deliver(client, d, "orders/cancelled", shop.domain, cancelled)
    run_jobs(app)
    order = _order(o["id"])
    assert order.cancelled_at is not None and order.net_minor == 0


def test_refund_before_its_order_still_ends_right(app, client, shop, shopify_double):
    d = shopify_double
    o = d.add_order(shop.domain, email="early@example.com", total="30.00")
    refund = d.refund_order(shop.domain, o["id"], amount="5.00")
    deliver(client, d, "refunds/create", shop.domain, d.refund_payload(shop.domain, refund))
    run_jobs(app)
    deliver(client, d, "orders/paid", shop.domain, d.order_payload(shop.domain, o))
    run_jobs(app)
    order = _order(o["id"])
    assert (order.total_minor, order.refunded_minor) == (3000, 500)


def test_stale_order_payload_after_a_newer_one_changes_nothing(app, client, shop, shopify_double):
    d = shopify_double
    o = d.add_order(shop.domain, email="late@example.com", total="40.00")
    newer = d.order_payload(shop.domain, o)
    older = {**newer, "total_price": "10.00", "updated_at": "2001-01-01T00:00:00Z"}
    deliver(client, d, "orders/updated", shop.domain, newer, webhook_id="newer")
    deliver(client, d, "orders/updated", shop.domain, older, webhook_id="older")
    run_jobs(app)
    assert _order(o["id"]).total_minor == 4000


def test_a_broken_delivery_fails_alone_and_its_batch_still_lands(app, client, shop, shopify_double):
    """A batch runs in one transaction; one bad payload must not take the others with it."""
    d = shopify_double
    good = [d.add_order(shop.domain, email=f"g{n}@example.com", total="12.50") for n in range(3)]
    broken = {**d.order_payload(shop.domain, good[0]), "id": 999_001, "total_price": "12,50 €"}
    deliver(client, d, "orders/paid", shop.domain, d.order_payload(shop.domain, good[0]))
    deliver(client, d, "orders/paid", shop.domain, broken, webhook_id="broken")
    for order in good[1:]:
        deliver(client, d, "orders/paid", shop.domain, d.order_payload(shop.domain, order))
    run_jobs(app)

    assert [_order(o["id"]).total_minor for o in good] == [1250, 1250, 1250]
    db.session.expire_all()
    events = {e.webhook_id: e for e in db.session.execute(select(WebhookEvent)).scalars()}
    failed = events.pop("broken")
    assert failed.status == "failed" and "is not an amount" in failed.error
    assert {e.status for e in events.values()} == {"processed"}
    assert db.session.execute(select(Order).where(Order.shopify_id == 999_001)).first() is None
