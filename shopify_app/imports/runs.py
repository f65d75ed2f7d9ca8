"""Who runs an import: one worker at a time, fenced by its attempt, re-queued if it dies.

Exactly once rests on three things: every ledger entry carries (import, row, source) under a
unique constraint; a batch's effects commit together with the resume position on the import
row; and only one worker runs an import at a time (a PostgreSQL advisory lock, which the
database releases the moment a killed worker's connection drops; a heartbeat lease on
SQLite). This module holds the last: the lock, the claim, the fence each batch passes before
it commits, and `sweep`, which re-queues a killed import so it resumes after its last batch.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from datetime import timedelta

import psycopg
from flask import current_app
from rq import Retry
from sqlalchemy import Row, and_, or_, select, text, update

from shopify_app.platform import sweeps
from shopify_app.platform.db import is_postgresql
from shopify_app.platform.extensions import db
from shopify_app.platform.models import ImportJob
from shopify_app.platform.models.base import utcnow
from shopify_app.platform.models.imports import FAILED, QUEUED, REVERTING, RUNNING
from shopify_app.platform.queue import enqueue, job_status
from shopify_app.platform.sweeps import Sweep, Waiting

LOCK_NAMESPACE = 4_242
MAX_ATTEMPTS = 5
QUEUE_GRACE = timedelta(seconds=10)
JOB_TIMEOUT = 4 * 3600


class LostClaim(Exception):
    """Another worker took the import over (this one was presumed dead); stop without writing."""


def batch_size() -> int:
    """Big batches for PostgreSQL's set-based path; SQLite holds its write lock per batch."""
    default = 50_000 if is_postgresql() else 5_000
    return int(current_app.config.get("IMPORT_BATCH_ROWS", default))


def lease() -> timedelta:
    return timedelta(seconds=current_app.config["IMPORT_LEASE_SECONDS"])


def _job_id(import_id: int, attempt: int, *, revert: bool) -> str:
    return f"import-{'revert-' if revert else ''}{import_id}-{attempt}"


def queue_import(import_id: int, attempt: int, *, revert: bool = False) -> bool:
    """Queue the job for an import; the job id names the attempt, so a resume never collides."""
    name = "revert_import" if revert else "run_import"
    return enqueue(
        f"shopify_app.imports.jobs.{name}",
        import_id,
        job_id=_job_id(import_id, attempt, revert=revert),
        job_timeout=JOB_TIMEOUT,
        result_ttl=3600,
        retry=Retry(max=2, interval=[5, 30]),
    )


@contextlib.contextmanager
def import_lock(import_id: int) -> Iterator[bool]:
    """Hold the import's advisory lock on a connection of its own for the whole run.

    The connection is opened fresh rather than taken from the pool, so no other process can
    share its socket (a pooled one may predate the fork of the worker's scheduler): when this
    worker dies, PostgreSQL sees the connection drop and frees the lock at once. Yields False
    when another live worker holds it. SQLite has no such lock: the heartbeat lease in
    `claim` does the job there.
    """
    if not is_postgresql():
        yield True
        return
    url = db.engine.url.set(drivername="postgresql")
    with psycopg.connect(url.render_as_string(hide_password=False), autocommit=True) as conn:
        held = conn.execute(
            "SELECT pg_try_advisory_lock(%s, %s)", (LOCK_NAMESPACE, import_id)
        ).fetchone()[0]
        yield bool(held)


def is_abandoned(import_id: int, heartbeat_at) -> bool:
    """True when no live worker runs the import: its lock is free (or its lease ran out)."""
    if not is_postgresql():
        return heartbeat_at is None or heartbeat_at < utcnow() - lease()
    with db.engine.connect() as conn:
        free = conn.execute(
            text("SELECT pg_try_advisory_xact_lock(:ns, :id)"),
            {"ns": LOCK_NAMESPACE, "id": import_id},
        ).scalar_one()
        conn.rollback()
    return bool(free)


def claim(import_id: int, running: str, *, fresh: str | None = None) -> int | None:
    """Mark the import as ours; returns the attempt number that fences our writes.

    Claimable: a `fresh` (queued) import; one left `running` by a dead worker (on PostgreSQL
    the advisory lock we hold proves that; on SQLite its lease has run out); or one that failed
    on an unexpected error, while attempts remain.
    """
    now = utcnow()
    abandoned = ImportJob.status == running
    if not is_postgresql():
        abandoned = and_(
            abandoned, or_(ImportJob.heartbeat_at.is_(None), ImportJob.heartbeat_at < now - lease())
        )
    claimable = [abandoned]
    if fresh is not None:
        claimable.append(ImportJob.status == fresh)
        claimable.append(
            and_(
                ImportJob.status == FAILED,
                ImportJob.attempts < MAX_ATTEMPTS,
                ImportJob.error_message.is_(None),
            )
        )
    claimed = db.session.execute(
        update(ImportJob)
        .where(ImportJob.id == import_id, or_(*claimable))
        .values(status=running, attempts=ImportJob.attempts + 1, heartbeat_at=now)
        .returning(ImportJob.attempts)
    ).scalar_one_or_none()
    db.session.commit()
    return claimed


class Progress:
    """Rate of this run, for the progress bar's rows/s and time left."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.rows = 0

    def add(self, rows: int) -> float:
        self.rows += rows
        return self.rows / max(time.monotonic() - self.started, 1e-6)


def fence(import_id: int, attempt: int, running: str) -> bool:
    """Lock the import row and check it is still ours; returns whether a cancel was asked."""
    row = db.session.execute(
        select(ImportJob.attempts, ImportJob.status, ImportJob.cancel_requested)
        .where(ImportJob.id == import_id)
        .with_for_update()
    ).one()
    if row.attempts != attempt or row.status != running:
        db.session.rollback()
        raise LostClaim(f"import {import_id} was taken over")
    return bool(row.cancel_requested)


def hold_write_lock(import_id: int) -> None:
    """SQLite: write first, so the batch's reads see no other writer until it commits."""
    if not is_postgresql():
        db.session.execute(
            update(ImportJob).where(ImportJob.id == import_id).values(heartbeat_at=utcnow())
        )


def _held(row: Row) -> bool:
    """Its job for this attempt still waits in Redis (or has just started), or a live worker
    runs it: a lease, not a stale time, says so (`is_abandoned`: the advisory lock on
    PostgreSQL, the heartbeat on SQLite)."""
    revert = row.status == REVERTING
    status = job_status(_job_id(row.id, row.attempts, revert=revert))
    if status in ("queued", "started", "deferred", "scheduled"):
        return True
    return row.status != QUEUED and not is_abandoned(row.id, row.heartbeat_at)


def _queue_again(row: Row) -> bool:
    return queue_import(row.id, row.attempts, revert=row.status == REVERTING)


#: imports that should be running and are not: queued (or reverting) past the grace, and
#: running ones; `_held` leaves those a worker still has. The claim counts the attempts.
WAITING = Sweep(
    ImportJob,
    (
        Waiting(ImportJob.status.in_([QUEUED, REVERTING]), ImportJob.updated_at, QUEUE_GRACE),
        Waiting(ImportJob.status == RUNNING),
    ),
    _queue_again,
    reads=(ImportJob.status, ImportJob.heartbeat_at),
    attempts=ImportJob.attempts,
    unless=_held,
)


def sweep() -> int:
    """Queue imports that should be running and are not: never queued, or their worker died."""
    return sweeps.run(WAITING)
