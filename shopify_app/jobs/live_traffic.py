"""Bulk jobs give way to live webhook traffic.

On a small box a points import's database work takes a whole core, and webhook intake must
keep answering Shopify fast. Intake counts deliveries per second in Redis (in the same round
trip as its drain kick); between batches an import looks at that rate and, while deliveries
pour in, rests in proportion to the time its last batch took: up to three times as long, so
a webhook storm gets three quarters of the machine. Alone, an import never rests.
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
#: ...up to this many times (a quarter of its speed).
MAX_REST_FACTOR = 8.0


def count_delivery(pipeline) -> None:
    """Add this delivery to the current second's count (queued on the caller's pipeline)."""
    key = RATE_KEY.format(int(time.time()))
    pipeline.incr(key)
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


def rest_after(redis: Redis, worked_seconds: float) -> float:
    """Sleep a share of `worked_seconds` that grows with the delivery rate; returns the rest."""
    rate = delivery_rate(redis)
    if rate < BUSY_RATE:
        return 0.0
    rest = worked_seconds * min(rate / RATE_PER_REST, MAX_REST_FACTOR)
    time.sleep(rest)
    return rest
