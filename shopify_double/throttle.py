"""Shopify's calculated-cost leaky bucket for the GraphQL Admin API, one per shop and app.

A request is admitted when its requested cost fits in what is currently available; the requested
cost is taken up front and the difference to the actual cost handed back afterwards, so apps see
the same `throttleStatus` figures Shopify sends.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

DOCUMENTATION = "https://shopify.dev/api/usage/rate-limits"


@dataclass
class Bucket:
    maximum: float
    restore_rate: float
    available: float
    updated: float

    def refill(self, now: float) -> None:
        elapsed = max(0.0, now - self.updated)
        self.available = min(self.maximum, self.available + elapsed * self.restore_rate)
        self.updated = now


class Throttle:
    """Buckets per shop, plus a count of calls forced to answer THROTTLED for tests."""

    def __init__(self, bucket: float = 2000.0, restore_rate: float = 100.0) -> None:
        self._lock = threading.Lock()
        self.maximum = bucket
        self.restore_rate = restore_rate
        self._buckets: dict[str, Bucket] = {}
        self._forced = 0

    def configure(self, bucket: float = 2000.0, restore_rate: float = 100.0) -> None:
        """Change the size and restore rate; every bucket starts full again."""
        with self._lock:
            self.maximum = float(bucket)
            self.restore_rate = float(restore_rate)
            self._buckets.clear()

    def reset(self) -> None:
        with self._lock:
            self._buckets.clear()
            self._forced = 0

    def force(self, n: int = 1) -> None:
        with self._lock:
            self._forced += n

    def _bucket(self, shop: str) -> Bucket:
        bucket = self._buckets.get(shop)
        now = time.monotonic()
        if bucket is None:
            bucket = Bucket(self.maximum, self.restore_rate, self.maximum, now)
            self._buckets[shop] = bucket
        bucket.refill(now)
        return bucket

    def admit(self, shop: str, requested: int) -> bool:
        """Take the requested cost from the bucket, or say no (THROTTLED) and take nothing."""
        with self._lock:
            bucket = self._bucket(shop)
            if self._forced > 0:
                self._forced -= 1
                return False
            if requested > bucket.available:
                return False
            bucket.available -= requested
            return True

    def settle(self, shop: str, requested: int, actual: int) -> None:
        """Hand back what was requested but not used."""
        with self._lock:
            bucket = self._bucket(shop)
            bucket.available = min(bucket.maximum, bucket.available + max(0, requested - actual))

    def status(self, shop: str) -> dict:
        """`throttleStatus` as Shopify renders it."""
        with self._lock:
            bucket = self._bucket(shop)
            return {
                "maximumAvailable": float(bucket.maximum),
                "currentlyAvailable": int(bucket.available),
                "restoreRate": float(bucket.restore_rate),
            }
