"""Klaviyo's rate limits: per account and per endpoint, a fixed 1-second burst window and a
fixed 1-minute steady window (Klaviyo's documented algorithm), answered with 429 and
`Retry-After` when either is spent."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Tier:
    """A rate-limit tier as Klaviyo's reference names them (requests per second, per minute)."""

    name: str
    burst: int
    steady: int


XS = Tier("XS", 1, 15)
S = Tier("S", 3, 60)
M = Tier("M", 10, 150)
L = Tier("L", 75, 700)
XL = Tier("XL", 350, 3500)


@dataclass(frozen=True)
class Verdict:
    """A request's fate: allowed, or refused with the seconds until a window reopens; and the
    steady window's state for the `RateLimit-*` headers Klaviyo sends on every other answer."""

    allowed: bool
    retry_after: int
    limit: int
    remaining: int
    reset: int


class RateLimiter:
    """Counts requests per (account, endpoint) in the current second and minute."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.lock = threading.Lock()
        self.windows: dict[tuple[str, str, str], tuple[int, int]] = {}
        #: refusals counted per endpoint, for tests and the bench.
        self.refused: dict[str, int] = {}

    def reset(self) -> None:
        with self.lock:
            self.windows.clear()
            self.refused.clear()

    def check(self, account: str, endpoint: str, tier: Tier) -> Verdict:
        now = self.clock()
        second, minute = int(now), int(now // 60)
        with self.lock:
            burst = self._count(account, endpoint, "s", second)
            steady = self._count(account, endpoint, "m", minute)
            minute_reset = max(1, math.ceil((minute + 1) * 60 - now))
            if steady >= tier.steady:
                return self._refuse(endpoint, minute_reset, tier, 0)
            if burst >= tier.burst:
                return self._refuse(endpoint, 1, tier, tier.steady - steady, reset=minute_reset)
            self.windows[(account, endpoint, "s")] = (second, burst + 1)
            self.windows[(account, endpoint, "m")] = (minute, steady + 1)
            return Verdict(True, 0, tier.steady, tier.steady - steady - 1, minute_reset)

    def _count(self, account: str, endpoint: str, kind: str, window: int) -> int:
        start, count = self.windows.get((account, endpoint, kind), (window, 0))
        return count if start == window else 0

    def _refuse(
        self, endpoint: str, retry: int, tier: Tier, remaining: int, reset: int | None = None
    ) -> Verdict:
        self.refused[endpoint] = self.refused.get(endpoint, 0) + 1
        return Verdict(False, retry, tier.steady, remaining, reset or retry)
