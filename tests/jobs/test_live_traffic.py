"""Bulk jobs give way to webhook traffic: intake counts deliveries, imports rest in proportion."""

from __future__ import annotations

import threading
import time

from shopify_app.platform import live_traffic
from shopify_app.platform.extensions import redis_conn
from tests.helpers import deliver
from webhooks.drain import KICK_WINDOW_MS


def _wait_for_next_second() -> None:
    time.sleep(1 - time.time() % 1 + 0.01)


def _counted(redis) -> int:
    now = int(time.time())
    keys = [live_traffic.RATE_KEY.format(second) for second in range(now - 5, now + 1)]
    return sum(int(count or 0) for count in redis.mget(keys))


def test_intake_counts_each_accepted_delivery_by_its_next_kick(app, client, shop, shopify_double):
    """Deliveries a process accepts while its kick window is open are counted together, with
    its next round trip to Redis: the count is never lost, at most one window late."""

    def accept(n: int) -> None:
        record = shopify_double.add_customer(shop.domain, email=f"rate{n}@example.com")
        payload = shopify_double.customer_payload(shop.domain, record)
        assert deliver(client, shopify_double, "customers/create", shop.domain, payload) == (
            "accepted"
        )

    _wait_for_next_second()
    started = time.monotonic()
    for n in range(5):
        accept(n)
    with app.app_context():
        redis = redis_conn()
        if time.monotonic() - started < KICK_WINDOW_MS / 1000:
            assert _counted(redis) == 1  # the first kick's round trip; four wait
        time.sleep(KICK_WINDOW_MS / 1000 + 0.05)
        accept(5)
        assert _counted(redis) == 6


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
