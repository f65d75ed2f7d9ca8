"""The charts' periods and axes, pure: partial periods named, axes on round numbers."""

from __future__ import annotations

from datetime import date

import pytest

from shopify_app.metrics.buckets import buckets_for
from shopify_app.metrics.charts import bar_chart, labelled, nice_ceiling


def test_months_cut_by_the_range_and_the_running_month_are_partial():
    buckets = buckets_for(date(2026, 10, 15), date(2026, 12, 3), "month", today=date(2026, 12, 3))
    assert [(b.start, b.end) for b in buckets] == [
        (date(2026, 10, 15), date(2026, 10, 31)),
        (date(2026, 11, 1), date(2026, 11, 30)),
        (date(2026, 12, 1), date(2026, 12, 3)),
    ]
    assert [b.label for b in buckets] == [
        "Oct 2026 (from Oct 15)",
        "Nov 2026",
        "Dec 2026 (to date)",
    ]
    assert [(b.partial, b.to_date) for b in buckets] == [
        (True, False),
        (False, False),
        (True, True),
    ]
    assert (buckets[-1].short, buckets[-1].note) == ("Dec", "to date")


def test_weeks_run_monday_to_sunday_and_a_past_range_is_never_to_date():
    buckets = buckets_for(date(2026, 3, 1), date(2026, 3, 31), "week", today=date(2026, 12, 3))
    assert buckets[0].label == "Week of Feb 23 (from Mar 1)" and buckets[0].days == 1
    assert buckets[1].start == date(2026, 3, 2) and buckets[1].days == 7
    assert buckets[-1].label == "Week of Mar 30 (to Mar 31)" and not buckets[-1].to_date
    assert sum(b.days for b in buckets) == 31


def test_today_is_the_partial_day():
    days = buckets_for(date(2026, 12, 1), date(2026, 12, 3), "day", today=date(2026, 12, 3))
    assert [b.partial for b in days] == [False, False, True]
    assert days[-1].label == "Dec 3 (to date)"


@pytest.mark.parametrize(
    ("value", "ceiling"), [(0, 1), (1, 1), (3, 5), (7, 10), (11, 20), (21, 25), (2_401, 2_500)]
)
def test_axes_end_on_round_numbers(value, ceiling):
    assert nice_ceiling(value) == ceiling


def test_the_axis_names_the_partial_period_and_keeps_its_neighbours_apart():
    buckets = buckets_for(date(2026, 9, 5), date(2026, 12, 3), "week", today=date(2026, 12, 3))
    chosen = labelled(buckets)
    assert chosen[0] == 0 and chosen[-1] == len(buckets) - 1
    assert all(b - a >= 2 for a, b in zip(chosen, chosen[1:], strict=False))
    chart = bar_chart("c", "Count", buckets, [("Referrals", [1] * len(buckets))], str)
    assert chart.ticks[-1][1] == "4" and chart.ticks[0][1] == "0"  # 1 on a 0-4 axis
    assert all(bar.partial == buckets[i].partial for i, bar in enumerate(chart.bars))
