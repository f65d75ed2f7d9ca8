"""Bulk jobs give way to webhook traffic: intake counts deliveries, imports rest in proportion."""

from __future__ import annotations

import threading
import time

from shopify_app.extensions import redis_conn
from shopify_app.jobs import live_traffic
from tests.helpers import deliver


def _wait_for_next_second() -> None:
    time.sleep(1 - time.time() % 1 + 0.01)


def test_intake_counts_each_accepted_delivery_per_second(app, client, shop, shopify_double):
    _wait_for_next_second()
    for n in range(5):
        payload = shopify_double.customer_payload(
            shop.domain, shopify_double.add_customer(shop.domain, email=f"rate{n}@example.com")
        )
        assert deliver(client, shopify_double, "customers/create", shop.domain, payload) == (
            "accepted"
        )
    _wait_for_next_second()
    with app.app_context():
        assert live_traffic.delivery_rate(redis_conn()) == 5


def _set_rate(redis, per_second: int) -> None:
    """The same count for the last few seconds, so a second turning over changes nothing."""
    now = int(time.time())
    for second in range(now - 3, now + 2):
        redis.set(live_traffic.RATE_KEY.format(second), per_second)


def test_an_import_rests_in_proportion_while_deliveries_pour_in(ctx):
    redis = redis_conn()
    assert live_traffic.rest_after(redis, 0.01) == 0.0
    _set_rate(redis, live_traffic.BUSY_RATE - 1)
    assert live_traffic.rest_after(redis, 0.01) == 0.0
    _set_rate(redis, 2 * live_traffic.RATE_PER_REST)
    assert 0.02 <= live_traffic.rest_after(redis, 0.01) < 0.2


def test_an_import_waits_out_a_storm_but_not_forever(ctx):
    redis = redis_conn()
    _set_rate(redis, live_traffic.STORM_RATE * 4)
    assert 0.6 <= live_traffic.rest_after(redis, 0.01, max_wait=0.6) < 1.5

    calm = threading.Timer(0.5, redis.flushdb)
    calm.start()
    waited = live_traffic.rest_after(redis, 0.01, max_wait=30)
    calm.join()
    assert 0.5 <= waited < 3
