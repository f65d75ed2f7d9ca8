"""Queueing a fetch, and the sweep that resumes fetches left interrupted or unattended."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import Row

from shopify_app.platform.models import MailchimpFetch
from shopify_app.platform.models.mailchimp import (
    FETCH_FAILED,
    FETCH_INTERRUPTED,
    FETCH_QUEUED,
    FETCH_RUNNING,
)
from shopify_app.platform.queue import enqueue
from shopify_app.platform.retry import RetryPolicy
from shopify_app.platform.sweeps import MAX_ATTEMPTS, GiveUp, Sweep, Waiting
from shopify_app.platform.sweeps import run as run_sweep

#: a 100,000-member audience reads in well under a minute; this bounds a stuck one.
JOB_TIMEOUT = 1800
QUEUE_GRACE = timedelta(seconds=10)
#: Mailchimp down: try again after 30 s, 1 min, 2 min … at most every 10 minutes.
RESUME_BACKOFF = RetryPolicy(first_delay=30.0, max_delay=600.0)


def queue_fetch(fetch_id: int, attempt: int | str) -> bool:
    """Queue the fetch's job; the job id names the attempt, so a resume never collides."""
    return enqueue(
        "shopify_app.mailchimp.jobs.fetch_audiences",
        fetch_id,
        job_id=f"mailchimp-fetch-{fetch_id}-{attempt}",
        job_timeout=JOB_TIMEOUT,
        result_ttl=3600,
    )


def _lease() -> timedelta:
    return timedelta(seconds=float(current_app.config["IMPORT_LEASE_SECONDS"]))


def _queue_again(row: Row) -> bool:
    return queue_fetch(row[0], row[1])


WAITING = Sweep(
    MailchimpFetch,
    (
        Waiting(MailchimpFetch.status == FETCH_QUEUED, MailchimpFetch.updated_at, QUEUE_GRACE),
        Waiting(
            MailchimpFetch.status == FETCH_INTERRUPTED,
            MailchimpFetch.heartbeat_at,
            backoff=RESUME_BACKOFF,
        ),
        Waiting(MailchimpFetch.status == FETCH_RUNNING, MailchimpFetch.heartbeat_at, _lease),
    ),
    _queue_again,
    attempts=MailchimpFetch.attempts,
    give_up=GiveUp(
        MAX_ATTEMPTS,
        {
            "status": FETCH_FAILED,
            "error_message": "Mailchimp could not be read after several tries; start again.",
        },
    ),
)


def sweep() -> int:
    """Queue fetches that should be running and are not; gives up after MAX_ATTEMPTS."""
    return run_sweep(WAITING)
