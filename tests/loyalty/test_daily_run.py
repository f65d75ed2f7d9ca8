"""The daily run, started with real `flask worker` processes: scheduled once across workers."""

from __future__ import annotations

from datetime import timedelta

import pytest
from rq.registry import ScheduledJobRegistry
from sqlalchemy import func, select

from shopify_app.loyalty.daily_run import daily_job_id, schedule_daily_run
from shopify_app.platform.extensions import db, queue
from shopify_app.platform.models import PointsEntry
from shopify_app.platform.models.base import utcnow
from tests.factories import make_contact
from tests.loyalty.test_expiry import expiry_on, lapsed, with_points
from tests.workers import wait_for


def expired_count() -> int:
    db.session.rollback()  # see what the workers committed
    return db.session.scalar(
        select(func.count()).select_from(PointsEntry).where(PointsEntry.source == "expiry")
    )


@pytest.mark.slow
def test_workers_starting_schedule_one_run_a_day_that_expires_lapsed_points(shop, workers):
    expiry_on(shop)
    with_points(shop, make_contact(shop, "old@example.com"), 100, last_activity=lapsed())
    workers.start()
    workers.start()
    wait_for(lambda: expired_count() == 1, timeout=60)
    tomorrow = utcnow().date() + timedelta(days=1)
    assert ScheduledJobRegistry(queue=queue()).get_job_ids() == [daily_job_id(tomorrow)]
    assert schedule_daily_run() == []  # already scheduled: a third worker adds nothing
    assert expired_count() == 1
