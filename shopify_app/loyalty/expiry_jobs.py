"""RQ entry points of points expiry, by dotted path; the work is in `daily_run`."""

from __future__ import annotations

from shopify_app.loyalty import daily_run
from shopify_app.platform.queue import job_app_context


def run_daily(day: str) -> int:
    """The day's run: queue each shop with expiry on (scheduled by `sweep_expiry`)."""
    with job_app_context():
        return daily_run.queue_shops(day)


def expire_shop(shop_id: int) -> str:
    """Expire one shop's lapsed balances and send its reminders; safe to run twice."""
    with job_app_context():
        return daily_run.run_shop(shop_id)


def sweep_expiry() -> list[str]:
    """Make sure today's and tomorrow's runs are scheduled (once across workers)."""
    with job_app_context():
        return daily_run.schedule_daily_run()
