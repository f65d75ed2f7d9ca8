"""The chart's and the CSV's periods: days, weeks or months, a cut or unfinished one marked.

A period that the range cuts (a week starting before the first day) or that is not over yet
(the current month) still shows what it holds, labelled as partial, so a merchant never reads
a half month as a bad month.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta


@dataclass(frozen=True)
class Bucket:
    """One bar of the charts: the days it counts (inside the range) and how it reads."""

    start: date
    end: date  # inclusive, within the range
    #: how the table and the CSV name it: "Week of Mar 9", "Dec 2026 (to date)".
    label: str
    #: the axis's words for it: "Mar 9", "Dec", and under it the note ("to date").
    short: str
    note: str | None
    #: it does not hold its whole day, week or month (cut by the range, or still running).
    partial: bool
    #: the partial bucket holds today: its figures are "to date".
    to_date: bool

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def natural_period(day: date, granularity: str) -> tuple[date, date]:
    """The whole day, week (Monday to Sunday) or calendar month that holds `day`."""
    if granularity == "week":
        monday = day - timedelta(days=day.weekday())
        return monday, monday + timedelta(days=6)
    if granularity == "month":
        first = day.replace(day=1)
        following = (first + timedelta(days=32)).replace(day=1)
        return first, following - timedelta(days=1)
    return day, day


def _names(start: date, granularity: str) -> tuple[str, str]:
    if granularity == "week":
        return "Week of " + start.strftime("%b %-d"), start.strftime("%b %-d")
    if granularity == "month":
        return start.strftime("%b %Y"), start.strftime("%b")
    return start.strftime("%b %-d"), start.strftime("%b %-d")


def buckets_for(first: date, last: date, granularity: str, today: date) -> list[Bucket]:
    """The buckets covering [first, last], each clipped to the range and to today."""
    buckets = []
    day = first
    while day <= last:
        natural_start, natural_end = natural_period(day, granularity)
        end = min(natural_end, last)
        to_date = natural_start <= today <= natural_end and today <= end
        partial = natural_start < first or end < natural_end or to_date
        label, short = _names(natural_start, granularity)
        note = None
        if to_date:
            note = "to date"
        elif natural_start < first:
            note = "from " + first.strftime("%b %-d")
        elif partial:
            note = "to " + end.strftime("%b %-d")
        if note:
            label += f" ({note})"
        buckets.append(Bucket(day, end, label, short, note, partial, to_date))
        day = end + timedelta(days=1)
    return buckets
