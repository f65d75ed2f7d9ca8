"""RQ entry points. Jobs take ids, open their own app context, and are safe to run twice."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

from flask import Flask, current_app, has_app_context
from redis.exceptions import RedisError
from rq import Retry
from rq.utils import import_attribute

from shopify_app.platform.extensions import queue
from shopify_app.platform.models import Shop

log = logging.getLogger(__name__)
_job_app: Flask | None = None


@contextlib.contextmanager
def job_app_context() -> Iterator[Flask]:
    """A fresh app context per job, so each job gets its own database session.

    The app is the current one, or one built lazily per worker process: on first use rather
    than at import, so importing a job module has no side effects.
    """
    global _job_app
    if has_app_context():
        app = current_app._get_current_object()  # type: ignore[attr-defined]
    else:
        if _job_app is None:
            from shopify_app import create_app

            _job_app = create_app()
        app = _job_app
    with app.app_context():
        yield app


def enqueue(func: str, *args: Any, job_id: str | None = None, **options: Any) -> bool:
    """Queue a job by dotted path; False (logged) when Redis is unreachable.

    Callers that must not lose work record it in the database first and rely on a sweep.
    With `RQ_ASYNC` off (the demo without Redis) the job runs here and now, in its own context.
    """
    if not current_app.config["RQ_ASYNC"]:
        try:
            import_attribute(func)(*args)
        except Exception:
            log.exception("inline job %s%r failed", func, args)
            return False
        return True
    try:
        queue().enqueue(func, *args, job_id=job_id, **options)
    except RedisError as error:
        log.warning("could not enqueue %s%r: %s", func, args, error)
        return False
    return True


def enqueue_after_install(shop: Shop) -> None:
    """Work that follows an install: the initial customer sync."""
    enqueue(
        "shopify_app.jobs.sync.sync_customers",
        shop.id,
        job_id=f"sync-customers-{shop.id}",
        retry=Retry(max=3, interval=[10, 30, 60]),
    )
