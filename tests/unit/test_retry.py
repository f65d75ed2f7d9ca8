"""The one retry policy: capped exponential waits, and calls retried only as often as allowed."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shopify_app.invitations.claims import RESEND_BACKOFF
from shopify_app.platform.retry import SWEEP_BACKOFF, RetryPolicy, retry_call


def test_sweep_backoff_doubles_from_ten_seconds_up_to_an_hour():
    waits = [SWEEP_BACKOFF.wait(n) for n in (1, 2, 3, 9, 50)]
    assert waits == [timedelta(seconds=s) for s in (10, 20, 40, 2560, 3600)]


def test_a_failed_invitation_waits_thirty_seconds_then_doubles():
    assert [RESEND_BACKOFF.wait(n).total_seconds() for n in (1, 2, 3, 8, 20)] == [
        30,
        60,
        120,
        3600,
        3600,
    ]


def test_retry_call_sleeps_between_attempts_and_raises_the_last_failure():
    calls, slept = [], []

    def flaky() -> str:
        calls.append(1)
        raise ConnectionError(f"attempt {len(calls)}")

    policy = RetryPolicy(attempts=3, first_delay=0.5, max_delay=0.75)
    with pytest.raises(ConnectionError, match="attempt 3"):
        retry_call(flaky, retry_on=(ConnectionError,), policy=policy, sleep=slept.append)
    assert len(calls) == 3 and slept == [0.5, 0.75]
    assert policy.worst_case_wait() == 1.25
