"""Queueing jobs by dotted path, and the app context every job runs in.

Jobs take ids, open their own app context, and are safe to run twice.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

from flask import Flask, current_app, has_app_context
from redis.exceptions import RedisError
from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.job import Job
from rq.utils import import_attribute
from sqlalchemy import event
from sqlalchemy.orm import Session

from shopify_app.platform.extensions import db, queue, redis_conn
from shopify_app.platform.tenancy import enter_shop, owner_shop

log = logging.getLogger(__name__)
_PENDING_JOBS = "jobs_after_commit"


class NoAppContext(RuntimeError):
    """A job ran outside the app: start workers through the app, never bare."""


@contextlib.contextmanager
def job_app_context(owner: tuple[type[Any], int] | None = None) -> Iterator[Flask]:
    """A fresh app context per job, so each job gets its own database session.

    Jobs never build the app (the factory is for entry points): `flask --app app worker`
    runs them inside its context, and `rq worker -w shopify_app.worker.AppWorker` builds the
    app once per process. A job that works for one shop names the row it works on
    (`owner=(ExportJob, export_id)`, or `(Shop, shop_id)`): its session is scoped to that
    row's shop (`platform.tenancy`), so none of its queries can reach another shop's rows.
    """
    if not has_app_context():
        raise NoAppContext(
            "run jobs through `flask --app app worker` or "
            "`rq worker -w shopify_app.worker.AppWorker`"
        )
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    with app.app_context():
        if owner is not None:
            shop_id = owner_shop(*owner)
            if shop_id is not None:
                enter_shop(shop_id)
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


def job_status(job_id: str) -> str | None:
    """What RQ says of a job (queued, started, finished…); None when it knows no such job.

    A sweep asks before queueing work again whose job may merely be waiting its turn.
    """
    try:
        return Job.fetch(job_id, connection=redis_conn()).get_status(refresh=True)
    except NoSuchJobError:
        return None


def enqueue_after_commit(func: str, *args: Any, job_id: str) -> None:
    """Queue a job once the current transaction commits; forget it if it rolls back.

    A job queued before the commit could run before its rows are visible to other workers.
    """
    session = db.session()
    session.info.setdefault(_PENDING_JOBS, {})[job_id] = (func, args)
    if not event.contains(session, "after_commit", _enqueue_pending):
        event.listen(session, "after_commit", _enqueue_pending)
        event.listen(session, "after_rollback", _drop_pending)


def _enqueue_pending(session: Session) -> None:
    if session.get_nested_transaction() is not None:
        return  # a savepoint was released; the outer transaction has not committed yet
    pending = session.info.pop(_PENDING_JOBS, {})
    if not current_app.config["RQ_ASYNC"]:
        for job_id, (func, args) in pending.items():
            enqueue(func, *args, job_id=job_id)  # runs each inline
    elif pending:
        _enqueue_many(pending)


def _enqueue_many(pending: dict[str, tuple[str, tuple[Any, ...]]]) -> None:
    """A webhook batch's jobs in one Redis round trip (one `enqueue` each took 0.75 ms)."""
    rq_queue = queue()
    jobs = [
        Queue.prepare_data(func, args, job_id=job_id) for job_id, (func, args) in pending.items()
    ]
    try:
        rq_queue.enqueue_many(jobs)
    except RedisError as error:
        log.warning("could not enqueue %s jobs: %s", len(jobs), error)


def discard_pending_jobs() -> None:
    """Forget jobs queued for the next commit (the demo settles its rewards inline)."""
    db.session().info.pop(_PENDING_JOBS, None)


def _drop_pending(session: Session) -> None:
    if session.get_nested_transaction() is None:
        session.info.pop(_PENDING_JOBS, None)
