"""The metrics series as a CSV: one row per period, money as plain decimals with its currency.

The same report the page draws, so a spreadsheet's sums are the page's cards. Amounts carry no
symbol or grouping (a spreadsheet reads them as numbers) and the currency has its own column.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from shopify_app.metrics.queries import MetricsReport
from shopify_app.platform.models import Shop
from shopify_app.platform.money import decimal_text, exponent

HEADER = (
    "period_start",
    "period_end",
    "period",
    "partial",
    "successful_referrals",
    "referee_revenue",
    "referrer_revenue",
    "referral_revenue",
    "reward_cost",
    "currency",
)


def series_csv(shop: Shop, report: MetricsReport) -> str:
    """The whole CSV (a few hundred rows at most), with a BOM so Excel reads it as UTF-8."""
    return "\ufeff" + "".join(_lines(shop, report))


def _lines(shop: Shop, report: MetricsReport) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    digits = exponent(shop.currency)
    series = report.series
    writer.writerow(HEADER)
    for i, bucket in enumerate(report.buckets):
        referee = series["referee_revenue_minor"][i]
        referrer = series["referrer_revenue_minor"][i]
        writer.writerow(
            (
                bucket.start.isoformat(),
                bucket.end.isoformat(),
                bucket.label,
                "yes" if bucket.partial else "no",
                series["successful_referrals"][i],
                decimal_text(referee, digits),
                decimal_text(referrer, digits),
                decimal_text(referee + referrer, digits),
                decimal_text(series["reward_cost_minor"][i], digits),
                shop.currency,
            )
        )
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
