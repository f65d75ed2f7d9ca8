"""Applying a confirmed CSV import (and reverting one), exactly once, resumably.

Exactly once rests on three things: every ledger entry carries (import, row, source) under a
unique constraint; a batch's effects commit together with the resume position on the import
row; and only one worker runs an import at a time (a PostgreSQL advisory lock, which the
database releases the moment a killed worker's connection drops; a heartbeat lease on
SQLite). A killed import is re-queued by `sweep_imports` and resumes after its last batch.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
from flask import current_app
from rq import Retry
from sqlalchemy import Row, and_, or_, select, text, update

from shopify_app.imports import contacts, points
from shopify_app.imports import flow as service
from shopify_app.imports.reading import gc_paused, map_columns
from shopify_app.imports.row_errors import RowError, clear_row_errors, store_row_errors
from shopify_app.platform import sweeps
from shopify_app.platform.db import is_postgresql
from shopify_app.platform.errors import ImportFileError
from shopify_app.platform.extensions import db, redis_conn
from shopify_app.platform.files import file_identity
from shopify_app.platform.live_traffic import rest_after
from shopify_app.platform.models import ImportJob, PointsEntry, Shop
from shopify_app.platform.models.base import utcnow
from shopify_app.platform.models.imports import POINTS
from shopify_app.platform.queue import enqueue, job_status
from shopify_app.platform.sweeps import Sweep, Waiting

log = logging.getLogger(__name__)
LOCK_NAMESPACE = 4_242
MAX_ATTEMPTS = 5
QUEUE_GRACE = timedelta(seconds=10)
JOB_TIMEOUT = 4 * 3600


class LostClaim(Exception):
    """Another worker took the import over (this one was presumed dead); stop without writing."""


class FileReplaced(Exception):
    """The upload was rewritten under the run (an erasure): the batch read rows it no longer has."""


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
    `_claim` does the job there.
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


def _claim(import_id: int, running: str, *, fresh: str | None = None) -> int | None:
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
                ImportJob.status == service.FAILED,
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


def _fence(import_id: int, attempt: int, running: str) -> bool:
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


def _hold_write_lock(import_id: int) -> None:
    """SQLite: write first, so the batch's reads see no other writer until it commits."""
    if not is_postgresql():
        db.session.execute(
            update(ImportJob).where(ImportJob.id == import_id).values(heartbeat_at=utcnow())
        )


def run(import_id: int) -> str:
    """Apply a confirmed import from its resume position to the end of the file."""
    with import_lock(import_id) as held:
        if not held:
            return "busy"
        attempt = _claim(import_id, service.RUNNING, fresh=service.QUEUED)
        if attempt is None:
            return "skipped"
        try:
            return _run(import_id, attempt)
        except LostClaim:
            return "taken over"
        except ImportFileError as error:
            db.session.rollback()
            _finish(import_id, service.FAILED, error_message=str(error))
            return "failed"
        except Exception as error:
            db.session.rollback()
            log.exception("import %s failed", import_id)
            db.session.execute(
                update(ImportJob)
                .where(ImportJob.id == import_id, ImportJob.attempts == attempt)
                .values(status=service.FAILED, summary=_with_note(import_id, str(error)))
            )
            db.session.commit()
            raise


def _with_note(import_id: int, note: str) -> dict[str, Any]:
    job = db.session.get(ImportJob, import_id)
    summary = dict((job.summary if job else None) or {})
    summary["last_error"] = note[:1000]
    return summary


def _finish(import_id: int, status: str, **values: Any) -> None:
    db.session.execute(
        update(ImportJob)
        .where(ImportJob.id == import_id)
        .values(status=status, finished_at=utcnow(), rows_per_second=None, **values)
    )
    db.session.commit()


def _run(import_id: int, attempt: int) -> str:
    job = db.session.get(ImportJob, import_id)
    shop = db.session.get(Shop, job.shop_id)
    if job.cancel_requested:
        _finish(import_id, service.CANCELLED)
        return "cancelled"
    if job.started_at is None:
        job.started_at = utcnow()
        db.session.commit()
    source = service.open_source(job)
    if not job.apply_with_errors and job.last_row_number == 0:
        clear_row_errors(import_id)
        check = service.validate(shop, job, source)
        if check.figures["error_rows"]:
            job.error_rows = check.figures["error_rows"]
            db.session.commit()
            _finish(
                import_id,
                service.FAILED,
                error_message=(
                    f"{check.figures['error_rows']:,} rows are rejected and you chose to import "
                    "nothing in that case: nothing was imported."
                ),
            )
            return "rejected"
        clear_row_errors(import_id)
        db.session.commit()
    progress = Progress()
    while True:
        # Read from here on: a rewrite renames a new file over this one (privacy.files).
        identity = file_identity(source.path)
        runner = _PointsRunner(job, source) if job.kind == POINTS else _ContactsRunner(job, source)
        rows = source.rows(after_row=job.last_row_number)
        try:
            with gc_paused(), contextlib.closing(prefetch(runner.parse, rows)) as batches:
                for parsed in batches:
                    started = time.monotonic()
                    if _commit_batch(job, attempt, runner, parsed, progress, identity):
                        _finish(import_id, service.CANCELLED)
                        return "cancelled"
                    rest_after(redis_conn(), time.monotonic() - started)
            break
        except FileReplaced:
            db.session.rollback()
            log.info("import %s: its file was rewritten; resuming on the new one", import_id)
            source = service.open_source(job)
    _fence(import_id, attempt, service.RUNNING)
    job.summary = {**(job.summary or {}), "result": runner.result(), "seconds": _seconds(job)}
    job.status = service.DONE
    job.finished_at = utcnow()
    job.rows_per_second = None
    db.session.commit()
    return "done"


def _seconds(job: ImportJob) -> float | None:
    return round((utcnow() - job.started_at).total_seconds(), 1) if job.started_at else None


def prefetch(
    parse: Callable[[list[tuple[int, list[str]]]], Parsed],
    rows: Iterator[tuple[int, list[str]]],
) -> Iterator[Parsed]:
    """Read and parse the next batch in a thread while the database applies this one.

    Parsing is Python work and applying is mostly waiting on PostgreSQL (which releases the
    GIL), so the two overlap; at most two parsed batches are held at once.
    """
    size = batch_size()
    handoff: queue.Queue[Parsed | BaseException | None] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def produce() -> None:
        try:
            batch: list[tuple[int, list[str]]] = []
            for record in rows:
                batch.append(record)
                if len(batch) >= size:
                    handoff.put(parse(batch))
                    batch = []
                    if stop.is_set():
                        return
            if batch:
                handoff.put(parse(batch))
            handoff.put(None)
        except BaseException as error:  # handed to the consumer, which re-raises it
            handoff.put(error)

    thread = threading.Thread(target=produce, name="import-reader", daemon=True)
    # The reader holds the GIL while it parses; when a query returns, the applying thread
    # should not wait the default 5 ms for its turn, some ten times per batch.
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(0.0005)
    thread.start()
    try:
        while (item := handoff.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        sys.setswitchinterval(switch_interval)
        stop.set()
        while thread.is_alive():
            try:
                handoff.get(timeout=0.1)
            except queue.Empty:
                pass


def _commit_batch(
    job: ImportJob,
    attempt: int,
    runner: _PointsRunner | _ContactsRunner,
    parsed: Parsed,
    progress: Progress,
    identity: tuple[int, int] | None,
) -> bool:
    """Apply one batch and commit it with the resume position; returns whether to stop.

    Raises FileReplaced when the upload is no longer the file the batch was read from: the
    check runs under the import row's lock, which an erasure holds while it rewrites.
    """
    import_id = job.id
    _hold_write_lock(import_id)
    applied, errors = runner.apply(parsed)
    store_row_errors(import_id, errors)
    cancel = _fence(import_id, attempt, service.RUNNING)
    if file_identity(Path(job.file_path)) != identity:
        raise FileReplaced(job.file_path)
    job.last_row_number = parsed.last_row
    job.processed_rows += parsed.size
    job.applied_rows += applied
    job.error_rows += len(errors)
    job.heartbeat_at = utcnow()
    job.rows_per_second = progress.add(parsed.size)
    job.summary = {**(job.summary or {}), "result": runner.result()}
    db.session.commit()
    return cancel


@dataclass
class Parsed:
    """A batch after parsing: rows ready to apply, rows already rejected, raw records."""

    rows: list[Any]
    errors: list[RowError]
    records: dict[int, list[str]]
    last_row: int
    size: int
    #: points on PostgreSQL: the rows in COPY's text format, built by the reader thread.
    staged: str | None = None


def _parse_batch(parser: Any, batch: list[tuple[int, list[str]]], keep: Any) -> Parsed:
    rows: list[Any] = []
    errors: list[RowError] = []
    for row_number, values in batch:
        result = parser(row_number, values)
        if isinstance(result, RowError):
            errors.append(result)
        else:
            rows.append(result)
    records = {row_number: values for row_number, values in batch} if keep else {}
    return Parsed(rows, errors, records, batch[-1][0], len(batch))


class _PointsRunner:
    def __init__(self, job: ImportJob, source) -> None:
        self.job_id, self.shop_id = job.id, job.shop_id
        self.parser = service.points_parser(job, source)
        self.set_balance = self.parser.mode == points.SET
        self.copy_in = is_postgresql()
        self.counts = dict((job.summary or {}).get("result") or {})

    def parse(self, batch: list[tuple[int, list[str]]]) -> Parsed:
        parsed = _parse_batch(self.parser, batch, keep=True)
        if self.copy_in:
            parsed.staged = points.stage_text(parsed.rows)
        return parsed

    def apply(self, parsed: Parsed) -> tuple[int, list[RowError]]:
        applied, rejections = points.apply_points(
            self.shop_id,
            self.job_id,
            parsed.rows,
            staged=parsed.staged,
            set_balance=self.set_balance,
        )
        errors = list(parsed.errors)
        for row_number, column, value, reason in rejections:
            raw = self.parser.source.raw_record(parsed.records[row_number])
            errors.append(RowError(row_number, column, value, reason, raw))
        return applied, errors

    def result(self) -> dict[str, Any]:
        return self.counts


class _ContactsRunner:
    def __init__(self, job: ImportJob, source) -> None:
        self.shop_id, self.segment_id = job.shop_id, job.segment_id
        self.update_existing = job.update_existing
        self.parser = contacts.ContactRowParser(source, map_columns(source, contacts.COLUMNS))
        self.counts = {"created": 0, "updated": 0, "unchanged": 0, "added_to_segment": 0}
        self.counts.update((job.summary or {}).get("result") or {})

    def parse(self, batch: list[tuple[int, list[str]]]) -> Parsed:
        return _parse_batch(self.parser, batch, keep=True)

    def apply(self, parsed: Parsed) -> tuple[int, list[RowError]]:
        outcome = contacts.apply_contacts(
            self.shop_id, self.segment_id, parsed.rows, update_existing=self.update_existing
        )
        errors = list(parsed.errors)
        for row_number, column, value, reason in outcome.rejections:
            raw = self.parser.source.raw_record(parsed.records[row_number])
            errors.append(RowError(row_number, column, value, reason, raw))
        for key in self.counts:
            self.counts[key] += getattr(outcome, key)
        return outcome.applied, errors

    def result(self) -> dict[str, Any]:
        return dict(self.counts)


def revert(import_id: int) -> str:
    """Take back every point a points import added: one compensating entry per applied row."""
    with import_lock(import_id) as held:
        if not held:
            return "busy"
        attempt = _claim(import_id, service.REVERTING)
        if attempt is None:
            return "skipped"
        try:
            return _revert(import_id, attempt)
        except LostClaim:
            return "taken over"


def _revert(import_id: int, attempt: int) -> str:
    job = db.session.get(ImportJob, import_id)
    shop_id = job.shop_id
    progress = Progress()
    after = 0
    size = batch_size()
    while True:
        _hold_write_lock(import_id)
        entries = db.session.execute(
            select(
                PointsEntry.row_number,
                PointsEntry.customer_id,
                PointsEntry.delta,
                PointsEntry.description,
            )
            .where(*service.revert_entries(shop_id, import_id), PointsEntry.row_number > after)
            .order_by(PointsEntry.row_number)
            .limit(size)
        ).all()
        if not entries:
            break
        rows = [
            (row, customer, -delta, f"Reverted: {description}"[: points.MAX_DESCRIPTION])
            for row, customer, delta, description in entries
        ]
        applied, rejections = points.apply_points(
            shop_id, import_id, rows, source=points.REVERT_SOURCE, by_customer_id=True
        )
        _fence(import_id, attempt, service.REVERTING)
        revert = dict((job.summary or {}).get("revert") or {})
        revert["done"] = revert.get("done", 0) + applied
        revert["skipped"] = revert.get("skipped", 0) + len(rejections)
        job.summary = {**(job.summary or {}), "revert": revert}
        job.heartbeat_at = utcnow()
        job.rows_per_second = progress.add(len(entries))
        db.session.commit()
        after = entries[-1][0]
    _fence(import_id, attempt, service.REVERTING)
    job.status = service.REVERTED
    job.finished_at = utcnow()
    job.rows_per_second = None
    db.session.commit()
    return "reverted"


def _held(row: Row) -> bool:
    """Its job for this attempt still waits in Redis (or has just started), or a live worker
    runs it: a lease, not a stale time, says so (`is_abandoned`: the advisory lock on
    PostgreSQL, the heartbeat on SQLite)."""
    revert = row.status == service.REVERTING
    status = job_status(_job_id(row.id, row.attempts, revert=revert))
    if status in ("queued", "started", "deferred", "scheduled"):
        return True
    return row.status != service.QUEUED and not is_abandoned(row.id, row.heartbeat_at)


def _queue_again(row: Row) -> bool:
    return queue_import(row.id, row.attempts, revert=row.status == service.REVERTING)


#: imports that should be running and are not: queued (or reverting) past the grace, and
#: running ones; `_held` leaves those a worker still has. The claim counts the attempts.
WAITING = Sweep(
    ImportJob,
    (
        Waiting(
            ImportJob.status.in_([service.QUEUED, service.REVERTING]),
            ImportJob.updated_at,
            QUEUE_GRACE,
        ),
        Waiting(ImportJob.status == service.RUNNING),
    ),
    _queue_again,
    reads=(ImportJob.status, ImportJob.heartbeat_at),
    attempts=ImportJob.attempts,
    unless=_held,
)


def sweep() -> int:
    """Queue imports that should be running and are not: never queued, or their worker died."""
    return sweeps.run(WAITING)
