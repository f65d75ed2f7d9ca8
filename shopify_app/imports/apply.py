"""Applying a confirmed CSV import batch by batch, resumably, from its resume position to the end.

A reader thread parses the next batch while the database applies this one; each batch
commits with the resume position, under the fence of `runs`. An all-or-nothing import is
checked whole first, and that check is the read: the batches it parsed are applied as they
are (see `_batches`). Reverting is `revert`.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import update

from shopify_app.imports import contacts_rows, points_ledger, points_rows
from shopify_app.imports.attribute_definitions import attribute_kinds, register_attributes
from shopify_app.imports.attribute_types import typed_attributes
from shopify_app.imports.batches import Parsed, parse_batch
from shopify_app.imports.contacts_upsert import apply_contacts
from shopify_app.imports.events_apply import EventsRunner
from shopify_app.imports.events_history import same_file_applied, take_outcome_of
from shopify_app.imports.people_apply import PeopleRunner
from shopify_app.imports.points_settle import (
    CustomerIds,
    apply_held_back,
    pending_points,
    settle,
)
from shopify_app.imports.preview import HeldChunks, open_source, points_parser, validate
from shopify_app.imports.reading import CsvSource, gc_paused, map_columns
from shopify_app.imports.row_errors import RowError, clear_row_errors, store_row_errors
from shopify_app.imports.runs import (
    LostClaim,
    Progress,
    batch_size,
    claim,
    fence,
    hold_write_lock,
    import_lock,
)
from shopify_app.platform.db import is_postgresql, refresh_stale_statistics
from shopify_app.platform.errors import ImportFileError
from shopify_app.platform.extensions import db, redis_conn
from shopify_app.platform.files import file_identity
from shopify_app.platform.live_traffic import rest_after
from shopify_app.platform.models import (
    Customer,
    ImportJob,
    PointBalance,
    SegmentMember,
    Shop,
)
from shopify_app.platform.models.base import utcnow
from shopify_app.platform.models.imports import (
    CANCELLED,
    CONTACTS,
    DONE,
    EVENTS,
    FAILED,
    PEOPLE,
    POINTS,
    QUEUED,
    RUNNING,
)

log = logging.getLogger(__name__)
#: what the merchant reads when a batch failed on something other than the file (the log has it).
UNEXPECTED_FAILURE = (
    "Something went wrong on our side while importing. The rows imported so far are kept, "
    "and the import will continue from where it stopped."
)
#: the tables a contacts batch writes and reads back.
CONTACT_TABLES = tuple(m.__tablename__ for m in (Customer, PointBalance, SegmentMember))
#: batches an all-or-nothing check keeps parsed for the apply, as many as `prefetch` holds.
HELD_BATCHES = 2


class FileReplaced(Exception):
    """The upload was rewritten under the run (an erasure): the batch read rows it no longer has."""


def run(import_id: int) -> str:
    """Apply a confirmed import from its resume position to the end of the file."""
    with import_lock(import_id) as held:
        if not held:
            return "busy"
        attempt = claim(import_id, RUNNING, fresh=QUEUED)
        if attempt is None:
            return "skipped"
        try:
            return _run(import_id, attempt)
        except LostClaim:
            return "taken over"
        except ImportFileError as error:
            db.session.rollback()
            _finish(import_id, FAILED, error_message=str(error))
            return "failed"
        except Exception:
            db.session.rollback()
            log.exception("import %s failed", import_id)
            _settle_after_failure(import_id)
            db.session.execute(
                update(ImportJob)
                .where(ImportJob.id == import_id, ImportJob.attempts == attempt)
                .values(status=FAILED, summary=_with_note(import_id, UNEXPECTED_FAILURE))
            )
            db.session.commit()
            raise


def _with_note(import_id: int, note: str) -> dict[str, Any]:
    job = db.session.get(ImportJob, import_id)
    summary = dict((job.summary if job else None) or {})
    summary["last_error"] = note[:1000]
    return summary


def _settle_after_failure(import_id: int) -> None:
    """The batches committed before a failure reach the balances now; if the database is what
    failed, the sweep settles them later (`points_settle.settle_stranded`)."""
    try:
        settle(db.session.get(ImportJob, import_id))
        db.session.commit()
    except Exception:
        db.session.rollback()
        log.exception("import %s: its held-back points wait for the sweep", import_id)


def _finish(import_id: int, status: str, **values: Any) -> None:
    """End the import (failed, cancelled), with the balances of what it applied."""
    settle(db.session.get(ImportJob, import_id))
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
        _finish(import_id, CANCELLED)
        return "cancelled"
    if job.started_at is None:
        job.started_at = utcnow()
        db.session.commit()
    if job.kind == EVENTS and (earlier := same_file_applied(job)) is not None:
        # The same bytes ran to their end before: every event they hold is stored already.
        fence(import_id, attempt, RUNNING)
        take_outcome_of(job, earlier)
        job.summary = {**(job.summary or {}), "seconds": _seconds(job)}
        job.status, job.finished_at, job.rows_per_second = DONE, utcnow(), None
        db.session.commit()
        return "done"
    source = open_source(job)
    # Read from here on: a rewrite renames a new file over this one (privacy.files).
    identity = file_identity(source.path)
    held: HeldChunks | None = None
    if not job.apply_with_errors and job.last_row_number == 0:
        clear_row_errors(import_id)
        held = HeldChunks(limit=HELD_BATCHES)
        check = validate(shop, job, source, chunk_size=batch_size(), hold=held)
        if check.figures["error_rows"]:
            job.error_rows = check.figures["error_rows"]
            db.session.commit()
            _finish(
                import_id,
                FAILED,
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
        runner = RUNNERS[job.kind](job, source)
        batches = _batches(runner, source, job.last_row_number, held)
        try:
            with gc_paused(), contextlib.closing(batches):
                for parsed in batches:
                    started = time.monotonic()
                    if _commit_batch(job, attempt, runner, parsed, progress, identity):
                        _finish(import_id, CANCELLED)
                        return "cancelled"
                    rest_after(redis_conn(), time.monotonic() - started)
            break
        except FileReplaced:
            db.session.rollback()
            log.info("import %s: its file was rewritten; resuming on the new one", import_id)
            source = open_source(job)
            identity = file_identity(source.path)
            held = None  # read from the file that was replaced
    fence(import_id, attempt, RUNNING)
    runner.finish()
    job.summary = {**(job.summary or {}), "result": runner.result(), "seconds": _seconds(job)}
    job.status = DONE
    job.finished_at = utcnow()
    job.rows_per_second = None
    db.session.commit()
    return "done"


def _seconds(job: ImportJob) -> float | None:
    return round((utcnow() - job.started_at).total_seconds(), 1) if job.started_at else None


def _batches(
    runner: Runner,
    source: CsvSource,
    after_row: int,
    held: HeldChunks | None,
) -> Iterator[Parsed]:
    """The batches to apply after `after_row`: those the check held, then the rest of the file.

    An all-or-nothing import is validated whole before its first batch commits, and the check
    is the read: the batches it parsed are applied as they are, so a file of up to
    HELD_BATCHES batches is read and parsed once. Holding a longer file's every batch would
    grow memory with the file, so the rows after the held ones are read again; resuming, or
    importing the valid rows, reads the file from the resume position.
    """
    if held is not None:
        while held.chunks:
            records, rows, errors = held.chunks.popleft()
            after_row = records[-1][0]
            parsed = Parsed(rows, errors, dict(records), after_row, len(records))
            yield runner.ready(parsed)
        if not held.overflowed:
            return
    yield from prefetch(runner.parse, source.rows(after_row=after_row))


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
    runner: Runner,
    parsed: Parsed,
    progress: Progress,
    identity: tuple[int, int] | None,
) -> bool:
    """Apply one batch and commit it with the resume position; returns whether to stop.

    Raises FileReplaced when the upload is no longer the file the batch was read from: the
    check runs under the import row's lock, which an erasure holds while it rewrites.
    """
    import_id = job.id
    hold_write_lock(import_id)
    applied, errors = runner.apply(parsed)
    store_row_errors(import_id, errors)
    cancel = fence(import_id, attempt, RUNNING)
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


class _PointsRunner:
    def __init__(self, job: ImportJob, source) -> None:
        self.job, self.job_id, self.shop_id = job, job.id, job.shop_id
        self.parser = points_parser(job, source)
        self.set_balance = self.parser.mode == points_rows.SET
        self.copy_in = is_postgresql()
        # Points to add wait for the import's end on PostgreSQL (`points_settle`); a balance
        # to set is reached from the balance itself, so those move batch by batch.
        self.pending: dict[int, int] | None = None
        self.customers: CustomerIds | None = None
        if self.copy_in and not self.set_balance:
            self.pending = pending_points(job)
            self.customers = CustomerIds(job.shop_id)
        self.counts = dict((job.summary or {}).get("result") or {})

    def parse(self, batch: list[tuple[int, list[str]]]) -> Parsed:
        return self.ready(parse_batch(self.parser, batch, keep=True))

    def ready(self, parsed: Parsed) -> Parsed:
        """On PostgreSQL, the batch in COPY's text format too (with its customers, when the
        runner knows them)."""
        if self.customers is not None:
            parsed.customer_ids = self.customers.resolve(parsed.rows)
            parsed.staged = points_ledger.stage_text(parsed.rows, parsed.customer_ids)
        elif self.copy_in:
            parsed.staged = points_ledger.stage_text(parsed.rows)
        return parsed

    def apply(self, parsed: Parsed) -> tuple[int, list[RowError]]:
        if self.pending is not None and self.customers is not None:
            applied, rejections = apply_held_back(
                self.shop_id,
                self.job_id,
                parsed.rows,
                self.customers,
                self.pending,
                staged=parsed.staged,
                customer_ids=parsed.customer_ids,
            )
        else:
            applied, rejections = points_ledger.apply_points(
                self.shop_id,
                self.job_id,
                parsed.rows,
                staged=parsed.staged,
                set_balance=self.set_balance,
            )
            self.job.settled_row_number = parsed.last_row  # the batch moved its balances
        errors = parsed.errors_with(self.parser.source, rejections)
        return applied, errors

    def result(self) -> dict[str, Any]:
        return self.counts

    def finish(self) -> None:
        """The points held back reach the balances, with the import's end."""
        settle(self.job, self.pending)


class _ContactsRunner:
    def __init__(self, job: ImportJob, source) -> None:
        self.shop_id, self.segment_id = job.shop_id, job.segment_id
        self.update_existing = job.update_existing
        self.parser = contacts_rows.ContactRowParser(
            source, map_columns(source, contacts_rows.COLUMNS)
        )
        self.counts = {"created": 0, "updated": 0, "unchanged": 0, "added_to_segment": 0}
        self.counts.update((job.summary or {}).get("result") or {})
        self.kinds, self.zone = attribute_kinds(job, [name for _, name in self.parser.extra])

    def parse(self, batch: list[tuple[int, list[str]]]) -> Parsed:
        return parse_batch(self.parser, batch, keep=True)

    def ready(self, parsed: Parsed) -> Parsed:
        return parsed

    def apply(self, parsed: Parsed) -> tuple[int, list[RowError]]:
        # New contacts change the tables a batch plans against; last batches' may not be
        # in the statistics yet (one catalog query a batch; ANALYZE only when stale).
        refresh_stale_statistics(*CONTACT_TABLES)
        register_attributes(self.shop_id, self.kinds)
        for row in parsed.rows:
            row.attributes = typed_attributes(row.attributes, self.kinds, self.zone)
        outcome = apply_contacts(
            self.shop_id, self.segment_id, parsed.rows, update_existing=self.update_existing
        )
        errors = parsed.errors_with(self.parser.source, outcome.rejections)
        for key in self.counts:
            self.counts[key] += getattr(outcome, key)
        return outcome.applied, errors

    def result(self) -> dict[str, Any]:
        return dict(self.counts)

    def finish(self) -> None:
        """Nothing to tidy once a contacts import is done."""


Runner = _PointsRunner | _ContactsRunner | PeopleRunner | EventsRunner
#: each kind's runner: parses a batch (in the reader thread) and applies it.
RUNNERS: dict[str, type[Runner]] = {
    POINTS: _PointsRunner,
    CONTACTS: _ContactsRunner,
    PEOPLE: PeopleRunner,
    EVENTS: EventsRunner,
}
