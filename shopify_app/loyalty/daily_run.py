"""The daily loyalty run: scheduled once a day across all workers, then one job per shop.

Every worker's sweeper calls `schedule_daily_run` (so a worker that starts schedules it):
a Redis key per day (`SET NX`) lets only the first worker schedule that day's run, with a
job id naming the day, through RQ's own scheduler (`Queue.enqueue_at`; workers run with
`with_scheduler=True`, and RQ's scheduler lock lets one of them move due jobs). Each day
schedules the next one's run at RUN_AT; a day nobody scheduled (the first start, Redis
emptied) runs at once. Should Redis forget, a day may run twice: the run is idempotent (expiry
ledger keys, claimed reminders), so nothing is doubled.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta

from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy import select

from shopify_app.loyalty import reminders
from shopify_app.loyalty.expiry import run_expiry
from shopify_app.platform.extensions import db, queue, redis_conn
from shopify_app.platform.models import ProgramSettings, Shop
from shopify_app.platform.models.base import utcnow
from shopify_app.platform.queue import enqueue
from shopify_app.program import config as program

log = logging.getLogger(__name__)
#: when the day's run starts (UTC): a quiet hour for most shops.
RUN_AT = time(3, 0)
DAILY_JOB = "shopify_app.loyalty.expiry_jobs.run_daily"
SHOP_JOB = "shopify_app.loyalty.expiry_jobs.expire_shop"
#: a shop's run may take a while on a large shop (reminders are sent one by one).
SHOP_JOB_TIMEOUT = 3600


def _scheduled_key(day: date) -> str:
    return f"shopify_app:loyalty:daily:{day.isoformat()}"


def daily_job_id(day: date) -> str:
    return f"loyalty-daily-{day.isoformat()}"


def schedule_daily_run(now: datetime | None = None) -> list[str]:
    """Schedule today's run (at once) and tomorrow's (at RUN_AT) unless a worker already did."""
    if not current_app.config["RQ_ASYNC"]:
        return []
    now = now or utcnow()
    scheduled = []
    for day in (now.date(), now.date() + timedelta(days=1)):
        run_at = datetime.combine(day, RUN_AT, UTC)
        try:
            if not redis_conn().set(_scheduled_key(day), "1", nx=True, ex=3 * 86400):
                continue
            if day == now.date():
                queue().enqueue(DAILY_JOB, day.isoformat(), job_id=daily_job_id(day))
            else:
                queue().enqueue_at(run_at, DAILY_JOB, day.isoformat(), job_id=daily_job_id(day))
        except RedisError as error:
            log.warning("cannot schedule the loyalty run of %s: %s", day, error)
            continue
        scheduled.append(daily_job_id(day))
    return scheduled


def queue_shops(day: str) -> int:
    """Queue one run per installed shop with expiry on (job ids name the shop and the day)."""
    shop_ids = db.session.scalars(
        select(Shop.id)
        .join(ProgramSettings, ProgramSettings.shop_id == Shop.id)
        .where(
            ProgramSettings.expiry.is_(True),
            Shop.uninstalled_at.is_(None),
        )
        .order_by(Shop.id)
    ).all()
    db.session.rollback()
    for shop_id in shop_ids:
        enqueue(
            SHOP_JOB,
            shop_id,
            job_id=f"loyalty-expiry-{shop_id}-{day}",
            job_timeout=SHOP_JOB_TIMEOUT,
        )
    return len(shop_ids)


def run_shop(shop_id: int, *, now: datetime | None = None) -> str:
    """Expire the shop's lapsed balances, then remind those whose points expire soon."""
    shop = db.session.get(Shop, shop_id)
    if shop is None:
        return "skipped: no shop"
    settings = program.get_settings(shop)
    db.session.commit()
    if not settings.expiry:
        return "skipped: expiry is off"
    now = now or utcnow()
    expired = run_expiry(shop, settings, now=now)
    sent = reminders.send_reminders(shop, settings, now=now)
    return (
        f"{expired.expired} balances expired; {sent.sent} reminders sent, {sent.failed} failed"
        + (f" ({sent.stopped})" if sent.stopped else "")
    )
