"""Server-drawn SVG bar charts: counts on one chart, money on another, each with its own axis.

Drawn on the server so the page works without scripts, shows no layout shift while a chart
library loads, and reads the same in the table beside it (the accessible fallback). A partial
period's bars are hatched and its label says so.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from shopify_app.metrics.buckets import Bucket

WIDTH, HEIGHT = 720, 220
LEFT, RIGHT, TOP, BOTTOM = 88, 12, 12, 44
#: x-axis labels shown at most; the others are in the table and the bars' titles.
MAX_X_LABELS = 8
TICKS = 4


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    series: int
    partial: bool
    #: the bar's tooltip: period, series and value.
    title: str


@dataclass(frozen=True)
class Chart:
    id: str
    title: str
    names: list[str]
    bars: list[Bar]
    #: (y, text) of each horizontal grid line.
    ticks: list[tuple[float, str]]
    #: (x centre, text, note) of the labelled periods.
    x_labels: list[tuple[float, str, str | None]]
    #: the table fallback: one row per period, its values formatted.
    rows: list[tuple[str, list[str]]]
    width: int = WIDTH
    height: int = HEIGHT
    baseline: float = HEIGHT - BOTTOM
    left: int = LEFT
    right_edge: int = WIDTH - RIGHT


def nice_ceiling(value: int) -> int:
    """The smallest 1, 2, 2.5 or 5 × 10ⁿ at or above `value` (at least 1), for even ticks."""
    if value <= 0:
        return 1
    magnitude = 1
    while magnitude * 10 <= value:
        magnitude *= 10
    for step in (1, 2, Decimal("2.5"), 5, 10):
        if step * magnitude >= value:
            return int(step * magnitude)
    return 10 * magnitude


def _axis_top(values: Sequence[int]) -> int:
    """The axis maximum: TICKS round steps that reach the largest value (8 → 0, 2, 4, 6, 8)."""
    largest = max(values, default=0)
    return nice_ceiling(-(-largest // TICKS)) * TICKS


def labelled(buckets: Sequence[Bucket]) -> list[int]:
    """Which buckets the axis names: evenly spaced, the partial ones always (their note
    matters most), a neighbour too close to one of those left to the table."""
    count = len(buckets)
    step = max(1, -(-count // MAX_X_LABELS))
    partial = [i for i, b in enumerate(buckets) if b.partial]
    chosen = {i for i in range(0, count, step)}
    chosen = {i for i in chosen if all(i == p or abs(i - p) >= step for p in partial)}
    return sorted(chosen | set(partial))


def bar_chart(
    id: str,
    title: str,
    buckets: Sequence[Bucket],
    series: Sequence[tuple[str, Sequence[int]]],
    fmt: Callable[[int], str],
) -> Chart:
    """Bars grouped per bucket, one colour per series, on one axis formatted by `fmt`."""
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM
    top = _axis_top([v for _, values in series for v in values])
    slot = plot_w / max(len(buckets), 1)
    group = slot * 0.8
    bar_w = group / max(len(series), 1)
    bars = []
    for i, bucket in enumerate(buckets):
        x0 = LEFT + i * slot + (slot - group) / 2
        for s, (name, values) in enumerate(series):
            h = plot_h * values[i] / top
            bars.append(
                Bar(
                    x=round(x0 + s * bar_w, 2),
                    y=round(TOP + plot_h - h, 2),
                    width=round(max(bar_w - 1, 1), 2),
                    height=round(h, 2),
                    series=s,
                    partial=bucket.partial,
                    title=f"{bucket.label}: {name} {fmt(values[i])}",
                )
            )
    ticks = [
        (round(TOP + plot_h - plot_h * n / TICKS, 2), fmt(top * n // TICKS))
        for n in range(TICKS + 1)
    ]
    x_labels = [
        (round(LEFT + (i + 0.5) * slot, 2), buckets[i].short, buckets[i].note)
        for i in labelled(buckets)
    ]
    rows = [
        (bucket.label, [fmt(values[i]) for _, values in series]) for i, bucket in enumerate(buckets)
    ]
    return Chart(id, title, [name for name, _ in series], bars, ticks, x_labels, rows)
