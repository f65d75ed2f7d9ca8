"""The Admin API client's backoff: how long it waits on THROTTLED, from `extensions.cost`."""

from __future__ import annotations

import pytest

from shopify_app.platform.shopify.client import throttle_delay


def test_throttle_delay_waits_for_the_missing_points_at_the_reported_rate() -> None:
    cost = {
        "requestedQueryCost": 500,
        "throttleStatus": {"currentlyAvailable": 100, "restoreRate": 200.0},
    }
    assert throttle_delay(cost) == pytest.approx(400 / 200 + 0.05)


@pytest.mark.parametrize(
    "status", [{"currentlyAvailable": 0}, {"currentlyAvailable": 0, "restoreRate": None}]
)
def test_throttle_delay_without_a_rate_assumes_a_standard_shop_restoring_100_a_second(
    status: dict,
) -> None:
    """A standard shop restores 100 points/s; assuming 50 would wait twice as long as needed."""
    cost = {"requestedQueryCost": 1000, "throttleStatus": status}
    assert throttle_delay(cost) == pytest.approx(1000 / 100 + 0.05)
