"""Bulk jobs give way to live webhook traffic.

On a small box a points import's database work takes a whole core, and webhook intake must
keep answering Shopify fast. Intake counts deliveries per second in Redis (in the round trip
of its drain kick, so a process's deliveries are counted at most one kick window late);
between batches an import looks at that rate and, while deliveries pour in, rests in
proportion to the time its last batch took (up to eight times as long); through a storm it
waits for the storm to pass, up to 20 s a batch. Alone, it never rests.
"""

from __future__ import annotations

import logging
import time

from redis import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)
RATE_KEY = "shopify_app:webhooks:per-second:{}"
#: below this many deliveries a second, bulk work runs flat out.
BUSY_RATE = 100
#: every this many deliveries a second, bulk work rests once more as long as it worked...
RATE_PER_REST = 125
#: ...up to this many times (a ninth of its speed).
MAX_REST_FACTOR = 8.0
#: from this rate a webhook storm is on: bulk work waits for it to pass...
STORM_RATE = 500
#: ...but at most this long per batch, so it still moves (well inside an import's lease).
MAX_STORM_WAIT = 20.0
STORM_POLL_SECONDS = 0.25


def count_deliveries(pipeline, count: int) -> None:
    """Add deliveries to the current second's count (queued on the caller's pipeline).

    Intake counts in its kick round trip, so the deliveries a process accepted between two
    kicks are counted together, at most one kick window late.
    """
    key = RATE_KEY.format(int(time.time()))
    pipeline.incrby(key, count)
    pipeline.expire(key, 10)


def delivery_rate(redis: Redis) -> int:
    """Deliveries per second over the last two whole seconds (the busier one)."""
    now = int(time.time())
    try:
        counts = redis.mget([RATE_KEY.format(now - 1), RATE_KEY.format(now - 2)])
    except RedisError as error:
        log.warning("cannot read the webhook rate: %s", error)
        return 0
    return max(int(count or 0) for count in counts)


def rest_after(redis: Redis, worked_seconds: float, *, max_wait: float = MAX_STORM_WAIT) -> float:
    """Rest a share of `worked_seconds` that grows with the delivery rate, and through a
    storm (up to `max_wait`); returns how long it rested."""
    rate = delivery_rate(redis)
    if rate < BUSY_RATE:
        return 0.0
    started = time.monotonic()
    time.sleep(worked_seconds * min(rate / RATE_PER_REST, MAX_REST_FACTOR))
    while rate >= STORM_RATE and time.monotonic() - started < max_wait:
        time.sleep(STORM_POLL_SECONDS)
        rate = delivery_rate(redis)
    return time.monotonic() - started
