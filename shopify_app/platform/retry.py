"""One retry helper: a bounded number of attempts with capped exponential backoff.

Outbound connections retry through it, and the sweeps space out their retries of failed work
(webhook deliveries, reward syncs, invitations) with its `wait`, so how long the app keeps
trying is one policy a reader can find, not a formula in each module.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """`attempts` calls at most; the n-th failure waits `first_delay * 2**(n-1)`, capped."""

    attempts: int = 3
    first_delay: float = 0.25
    max_delay: float = 2.0

    def delay(self, failures: int) -> float:
        return min(self.first_delay * 2 ** max(failures - 1, 0), self.max_delay)

    def wait(self, failures: int) -> timedelta:
        """`delay` as a duration, for work a sweep retries later rather than in a loop."""
        return timedelta(seconds=self.delay(failures))

    def worst_case_wait(self) -> float:
        """The sleeping a call can add on top of its attempts' own timeouts."""
        return sum(self.delay(n) for n in range(1, self.attempts))


def retry_call(
    call: Callable[[], T],
    *,
    retry_on: tuple[type[BaseException], ...],
    policy: RetryPolicy,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Return `call()`, retrying the listed exceptions; the last failure is raised as is."""
    failures = 0
    while True:
        try:
            return call()
        except retry_on:
            failures += 1
            if failures >= policy.attempts:
                raise
            sleep(policy.delay(failures))


#: failed background work (a delivery, a reward sync): 10 s, 20 s, 40 s … at most an hour.
SWEEP_BACKOFF = RetryPolicy(first_delay=10.0, max_delay=3600.0)
