"""CSV imports: upload, validated preview, confirm, cancel, revert, progress and rejected rows.

The flow is the same from the admin and the command line: a file is stored under IMPORT_DIR,
validated in one streaming pass (the preview), and applied by an RQ job after the merchant
confirms. Nothing here commits; the view, job or command does.
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from flask import current_app
from sqlalchemy import and_, case, func, or_, select

from shopify_app.imports import contacts, points
from shopify_app.imports.reading import (
    MAX_FILE_BYTES,
    MAX_ROWS,
    CsvSource,
    gc_paused,
    map_columns,
    single_byte_encoding,
    sniff,
)
from shopify_app.imports.row_errors import RowError, clear_row_errors, store_row_errors
from shopify_app.platform.errors import AppError, ImportFileError
from shopify_app.platform.extensions import db
from shopify_app.platform.models import (
    Customer,
    ImportJob,
    ImportRowError,
    PointsEntry,
    Segment,
    Shop,
)
from shopify_app.platform.models.base import utcnow
from shopify_app.platform.models.imports import (
    CANCELLED,
    CONTACTS,
    DONE,
    FAILED,
    POINTS,
    PREVIEWED,
    QUEUED,
    REVERTED,
    REVERTING,
    RUNNING,
    UPLOADED,
)
from shopify_app.platform.shops import lock_shop
from shopify_app.platform.spreadsheet import neutralise_cell

KINDS = (POINTS, CONTACTS)
#: statuses of an import that will apply its file: the same file again needs a confirmation.
PENDING_STATUSES = (QUEUED, RUNNING, REVERTING)
#: ... and of one that has applied it, if it applied any row.
APPLIED_STATUSES = (DONE, FAILED, CANCELLED)
SAMPLE_ROWS = 10
CHUNK_BYTES = 1024 * 1024


class ImportStateError(AppError):
    """The import is not in a state that allows this action (confirm twice, revert running …)."""


class DuplicateFileNotConfirmed(ImportStateError):
    """The file is identical to an earlier import and the merchant has not confirmed."""

    def __init__(self, message: str, *, duplicate_of: int) -> None:
        super().__init__(message)
        self.duplicate_of = duplicate_of


def mark_duplicate(job: ImportJob, duplicate_of: int) -> None:
    """Show the preview's "already imported" warning after a confirm found the twin."""
    job.summary = {**(job.summary or {}), "duplicate_of": duplicate_of}


def import_dir(shop: Shop) -> Path:
    path = Path(current_app.config["IMPORT_DIR"]) / str(shop.id)
    path.mkdir(parents=True, exist_ok=True)
    return path


def store_upload(shop: Shop, stream: IO[bytes]) -> tuple[Path, str, int]:
    """Copy the upload to the shop's import folder in chunks; returns (path, sha256, size)."""
    path = import_dir(shop) / f"{uuid.uuid4().hex}.csv"
    digest, size = hashlib.sha256(), 0
    # The same limit the request guard applies from Content-Length (also for CLI files).
    limit = min(int(current_app.config["MAX_UPLOAD_BYTES"]), MAX_FILE_BYTES)
    try:
        with open(path, "wb") as out:
            while chunk := stream.read(CHUNK_BYTES):
                size += len(chunk)
                if size > limit:
                    raise ImportFileError(
                        f"The file is over the limit of {limit / 1024 / 1024:g} MB. "
                        "Split it into smaller files."
                    )
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path, digest.hexdigest(), size


def create_import(
    shop: Shop,
    kind: str,
    filename: str,
    stream: IO[bytes],
    *,
    segment: Segment | None = None,
    update_existing: bool = False,
    points_mode: str | None = None,
) -> ImportJob:
    """Store the file and validate it; a file that cannot be imported raises ImportFileError.

    A refused file leaves nothing behind: no import row and no stored copy. `points_mode`
    answers ahead the question a `points`/`balance` column raises (ADD or SET).
    """
    if points_mode not in (None, points.ADD, points.SET):
        raise ImportFileError("Choose whether the points column holds points to add or balances.")
    if kind not in KINDS:
        raise ImportFileError("Choose what to import: points or contacts.")
    if kind == CONTACTS and segment is None:
        raise ImportFileError("Choose the segment the contacts go into, or name a new one.")
    filename = Path(filename or "upload.csv").name[:255]
    path, sha256, size = store_upload(shop, stream)
    job = ImportJob(
        shop_id=shop.id,
        kind=kind,
        filename=filename,
        file_path=str(path),
        file_sha256=sha256,
        file_size=size,
        segment_id=segment.id if segment else None,
        update_existing=update_existing,
        status=UPLOADED,
        summary={"points_mode": points_mode} if points_mode else None,
    )
    try:
        if size == 0:
            raise ImportFileError(f"{filename} is empty.")
        db.session.add(job)
        db.session.flush()
        run_preview(shop, job)
    except BaseException:
        db.session.rollback()
        path.unlink(missing_ok=True)
        raise
    return job


def open_source(job: ImportJob) -> CsvSource:
    """The job's file with the format its preview detected."""
    path = Path(job.file_path)
    if job.file_deleted_at is not None or not path.exists():
        raise ImportFileError("The uploaded file is no longer available; upload it again.")
    source = sniff(path, job.filename)
    if job.encoding:
        source.encoding = job.encoding
    if job.delimiter:
        source.delimiter = job.delimiter
    return source


@dataclass
class Validation:
    """The outcome of one validation pass: figures, and the sample shown in the preview."""

    figures: dict[str, Any]
    sample: list[dict[str, Any]]
    columns: dict[str, str]


def validate(shop: Shop, job: ImportJob, source: CsvSource) -> Validation:
    """Validate every row, storing each rejected row; retries as Windows-1252 if UTF-8 breaks.

    A file can be valid UTF-8 in the sniffed head and not further down (Excel on Windows):
    the pass then starts again in the fallback encoding.
    """
    try:
        with gc_paused():
            return _validate(shop, job, source)
    except UnicodeDecodeError as error:
        if source.encoding not in ("utf-8", "utf-8-sig"):
            raise ImportFileError(
                f"{job.filename} is not a text file in a known encoding ({error.reason})."
            ) from error
        clear_row_errors(job.id)
        source.encoding = single_byte_encoding(source.path)
        with gc_paused():
            return _validate(shop, job, source)


def _validate(shop: Shop, job: ImportJob, source: CsvSource) -> Validation:
    def on_errors(errors: list[RowError]) -> None:
        store_row_errors(job.id, errors)

    rows = source.rows(limit=MAX_ROWS)
    if job.kind == POINTS:
        parser = points_parser(job, source)
        mapping = {
            "shopify_id": parser.id_at,
            "points_to_add" if parser.mode == points.ADD else "balance": parser.points_at,
        }
        if parser.description_at is not None:
            mapping["description"] = parser.description_at
        figures = points.preview_points(shop.id, rows, parser, on_errors).figures()
        figures["points_mode"] = parser.mode
    else:
        mapping = map_columns(source, contacts.COLUMNS)
        contact_parser = contacts.ContactRowParser(source, mapping)
        figures = contacts.preview_contacts(
            shop.id,
            rows,
            contact_parser,
            on_errors,
            segment_id=job.segment_id,
            update_existing=job.update_existing,
        ).figures()
        figures["attributes"] = [name for _, name in contact_parser.extra]
    if figures["rows"] == 0:
        raise ImportFileError(f"{job.filename} has a header but no rows to import.")
    return Validation(
        figures=figures, sample=_sample(source, mapping), columns=_columns(source, mapping)
    )


def _columns(source: CsvSource, mapping: dict[str, int]) -> dict[str, str]:
    return {name: source.header[index] for name, index in mapping.items()}


def _sample(source: CsvSource, mapping: dict[str, int]) -> list[dict[str, Any]]:
    """The first rows as the preview shows them: the import's columns only."""
    return [
        {
            "row": number,
            "values": {
                name: (values[i].strip() if i < len(values) else "") for name, i in mapping.items()
            },
        }
        for number, values in itertools.islice(source.rows(), SAMPLE_ROWS)
    ]


class PointsModeNeeded(ImportStateError):
    """The file's points column could be points to add or balances: the merchant must say."""


def points_mode(job: ImportJob) -> str | None:
    """ADD or SET as the merchant chose for an ambiguous column; None while undecided."""
    return (job.summary or {}).get("points_mode")


def points_parser(job: ImportJob, source: CsvSource) -> points.PointsRowParser:
    """The one parser of a points file, for the preview and the job alike."""
    mapping, ambiguous = points.points_columns(source)
    mode = points_mode(job) if ambiguous else points.ADD
    if mode is None:
        header = source.header[mapping["points_to_add"]]
        raise PointsModeNeeded(
            f"Say what the column “{header}” holds: points to add to each customer, or each "
            "customer's new balance."
        )
    return points.PointsRowParser(source, mapping, default_description(job), mode=mode)


def default_description(job: ImportJob) -> str:
    return f"Points import: {job.filename}"


def run_preview(shop: Shop, job: ImportJob) -> None:
    """Detect the format, validate every row, and record the preview on the import.

    A points file whose only points column is named `points` or `balance` is not validated
    until the merchant says what it holds: the figures differ entirely between the two.
    """
    source = sniff(Path(job.file_path), job.filename)
    mode = points_mode(job)
    if job.kind == POINTS:
        mapping, ambiguous = points.points_columns(source)
        if ambiguous and mode is None:
            mapping["points"] = mapping.pop("points_to_add")
            column = source.header[mapping["points"]]
            job.encoding, job.delimiter = source.encoding, source.delimiter
            job.summary = {
                "points_mode": None,
                "preview": {
                    "needs_points_mode": True,
                    "ambiguous_column": column,
                    "rows": 0,
                    "valid_rows": 0,
                    "error_rows": 0,
                    "columns": _columns(source, mapping),
                    "header": source.header,
                    "sample": _sample(source, mapping),
                },
            }
            job.status = PREVIEWED
            return
    result = validate(shop, job, source)
    job.encoding = source.encoding
    job.delimiter = source.delimiter
    job.total_rows = result.figures["rows"]
    job.error_rows = result.figures["error_rows"]
    duplicate = find_duplicate(shop, job)
    job.summary = {
        "points_mode": mode,
        "preview": {
            **result.figures,
            "columns": result.columns,
            "header": source.header,
            "sample": result.sample,
        },
        "duplicate_of": duplicate.id if duplicate else None,
        "duplicate_created_at": duplicate.created_at.isoformat() if duplicate else None,
    }
    job.status = PREVIEWED


def choose_points_mode(shop: Shop, job: ImportJob, mode: str) -> None:
    """Read the file's `points`/`balance` column as points to add or balances, and preview."""
    if job.shop_id != shop.id or job.status != PREVIEWED or job.kind != POINTS:
        raise ImportStateError("This import can no longer be changed.")
    if mode not in (points.ADD, points.SET):
        raise ImportStateError("Choose whether the column holds points to add or balances.")
    clear_row_errors(job.id)
    job.summary = {**(job.summary or {}), "points_mode": mode}
    run_preview(shop, job)


def find_duplicate(shop: Shop, job: ImportJob) -> ImportJob | None:
    """An earlier import of the same bytes that was (or is being) applied.

    A discarded preview, or an import cancelled before it applied a row, does not count:
    warning about it would scare the merchant off a file that was never imported.
    """
    return db.session.execute(
        select(ImportJob)
        .where(
            ImportJob.shop_id == shop.id,
            ImportJob.file_sha256 == job.file_sha256,
            ImportJob.id != job.id,
            or_(
                ImportJob.status.in_(PENDING_STATUSES),
                and_(ImportJob.status.in_(APPLIED_STATUSES), ImportJob.applied_rows > 0),
            ),
        )
        .order_by(ImportJob.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def confirm_import(
    shop: Shop, job: ImportJob, *, apply_with_errors: bool, confirm_duplicate: bool = False
) -> None:
    """Queue a previewed import; the caller commits and then enqueues the job."""
    if job.shop_id != shop.id:
        raise ImportStateError("This import belongs to another store.")
    # A second confirm of one file waits here, then sees the first.
    lock_shop(shop)
    db.session.refresh(job)
    if job.status != PREVIEWED:
        raise ImportStateError(f"This import is {job.status}; it cannot be confirmed again.")
    preview = (job.summary or {}).get("preview", {})
    if preview.get("needs_points_mode"):
        raise PointsModeNeeded(
            f"Say what the column “{preview.get('ambiguous_column')}” holds before importing."
        )
    # Checked again here, under the lock: two previews of one file may both have been clean.
    duplicate = find_duplicate(shop, job)
    if duplicate is not None and not confirm_duplicate:
        raise DuplicateFileNotConfirmed(
            f"This file is identical to an earlier import (#{duplicate.id}), whose rows were "
            "applied. "
            "Tick “Import it again” to confirm that you want its rows applied a second time.",
            duplicate_of=duplicate.id,
        )
    if preview.get("valid_rows", 0) == 0:
        raise ImportStateError("No row of this file can be imported; fix the file and upload it.")
    if preview.get("error_rows", 0) and not apply_with_errors:
        raise ImportStateError(
            f"{preview['error_rows']:,} rows are rejected and you chose to import nothing in "
            "that case. Fix the file and upload it again, or choose to import the valid rows."
        )
    clear_row_errors(job.id)
    job.apply_with_errors = apply_with_errors
    job.status = QUEUED
    job.processed_rows = job.applied_rows = job.error_rows = job.last_row_number = 0
    job.cancel_requested = False
    job.heartbeat_at = None
    job.summary = {**(job.summary or {}), "confirmed_at": utcnow().isoformat()}


def cancel_refusal(job: ImportJob) -> str | None:
    """Why the import cannot be cancelled, or None: only previews and running imports can."""
    if job.status in (UPLOADED, PREVIEWED, QUEUED, RUNNING):
        return None
    return f"This import is {job.status}; there is nothing to cancel."


def cancel_import(shop: Shop, job: ImportJob) -> None:
    """Discard a preview, or ask the running job to stop after its current batch."""
    refusal = cancel_refusal(job)
    if refusal:
        raise ImportStateError(refusal)
    if job.status in (UPLOADED, PREVIEWED):
        job.status = CANCELLED
        job.finished_at = utcnow()
        clear_row_errors(job.id)
    else:
        job.cancel_requested = True


@dataclass(frozen=True)
class CancelPlan:
    """What cancelling would do now: rows applied so far stay, the rest are not imported."""

    status: str
    applied: int
    processed: int
    total: int
    #: rows the batch in progress may still apply before the job sees the request.
    in_flight: int
    refusal: str | None

    @property
    def discards(self) -> bool:
        """A preview: nothing was applied, cancelling discards the upload."""
        return self.status in (UPLOADED, PREVIEWED)


def plan_cancel(job: ImportJob, *, batch_rows: int) -> CancelPlan:
    """The import's progress as its row stores it (the job commits it batch by batch)."""
    running = job.status in (QUEUED, RUNNING)
    return CancelPlan(
        status=job.status,
        applied=job.applied_rows,
        processed=job.processed_rows,
        total=job.total_rows,
        in_flight=min(batch_rows, max(job.total_rows - job.processed_rows, 0)) if running else 0,
        refusal=cancel_refusal(job),
    )


def overdrawn_by_revert(shop: Shop, job: ImportJob) -> int:
    """How many customers would go below zero if the import's points were taken back now."""
    per_customer = (
        select(PointsEntry.customer_id, func.sum(PointsEntry.delta).label("delta"))
        .where(
            PointsEntry.import_id == job.id,
            PointsEntry.shop_id == shop.id,
            PointsEntry.source.in_([points.SOURCE, points.REVERT_SOURCE]),
        )
        .group_by(PointsEntry.customer_id)
        .subquery()
    )
    return db.session.execute(
        select(func.count())
        .select_from(per_customer)
        .join(Customer, Customer.id == per_customer.c.customer_id)
        .where(Customer.points_balance - per_customer.c.delta < 0)
    ).scalar_one()


def revert_entries(shop_id: int, import_id: int) -> list[Any]:
    """The ledger entries a revert takes back (the import's own rows), as WHERE criteria.

    The revert job walks them and the confirmation counts them, so both see the same rows.
    """
    return [
        PointsEntry.import_id == import_id,
        PointsEntry.shop_id == shop_id,
        PointsEntry.source == points.SOURCE,
    ]


def revert_refusal(shop: Shop, job: ImportJob) -> str | None:
    """Why the import cannot be reverted now, in the merchant's words; None when it can."""
    if job.kind != POINTS:
        return "Only points imports can be reverted."
    if job.status not in (DONE, CANCELLED, FAILED) or not job.applied_rows:
        return "Only a finished points import that added points can be reverted."
    overdrawn = overdrawn_by_revert(shop, job)
    if overdrawn:
        who = "1 customer has" if overdrawn == 1 else f"{overdrawn:,} customers have"
        return (
            f"{who} spent points since this import: reverting it would take their balance "
            "below zero. Adjust their points first, then revert."
        )
    return None


@dataclass(frozen=True)
class RevertPlan:
    """What reverting the import would do now: the figures the merchant confirms first."""

    rows: int
    points_taken: int
    points_returned: int
    customers: int
    overdrawn: int
    refusal: str | None


def plan_revert(shop: Shop, job: ImportJob) -> RevertPlan:
    """Count the rows, points and customers a revert would take back, without changing any."""
    rows, taken, returned, customers = db.session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(case((PointsEntry.delta > 0, PointsEntry.delta), else_=0)), 0),
            func.coalesce(func.sum(case((PointsEntry.delta < 0, -PointsEntry.delta), else_=0)), 0),
            func.count(PointsEntry.customer_id.distinct()),
        ).where(*revert_entries(shop.id, job.id))
    ).one()
    return RevertPlan(
        rows=int(rows),
        points_taken=int(taken),
        points_returned=int(returned),
        customers=int(customers),
        overdrawn=overdrawn_by_revert(shop, job) if job.kind == POINTS else 0,
        refusal=revert_refusal(shop, job),
    )


def request_revert(shop: Shop, job: ImportJob) -> None:
    """Queue the revert of a points import: one compensating ledger entry per applied row."""
    refusal = revert_refusal(shop, job)
    if refusal:
        raise ImportStateError(refusal)
    job.status = REVERTING
    job.heartbeat_at = None
    job.summary = {**(job.summary or {}), "revert": {"done": 0, "skipped": 0}}


def recent_imports(shop: Shop, limit: int = 50) -> list[ImportJob]:
    return list(
        db.session.execute(
            select(ImportJob)
            .where(ImportJob.shop_id == shop.id, ImportJob.status != UPLOADED)
            .order_by(ImportJob.id.desc())
            .limit(limit)
        ).scalars()
    )


def row_errors(job: ImportJob, *, limit: int = 100, offset: int = 0) -> list[ImportRowError]:
    return list(
        db.session.execute(
            select(ImportRowError)
            .where(ImportRowError.import_id == job.id)
            .order_by(ImportRowError.row_number)
            .limit(limit)
            .offset(offset)
        ).scalars()
    )


def error_count(job: ImportJob) -> int:
    return db.session.execute(
        select(func.count()).where(ImportRowError.import_id == job.id)
    ).scalar_one()


def progress(job: ImportJob) -> dict[str, Any]:
    """What the progress bar shows: rows done, rows/s and time left, from the import row."""
    if job.status == REVERTING or job.status == REVERTED:
        revert = (job.summary or {}).get("revert", {})
        done, total = revert.get("done", 0), job.applied_rows
    else:
        done, total = job.processed_rows, job.total_rows
    finished = job.status not in (QUEUED, RUNNING, REVERTING)
    rate = job.rows_per_second if job.status in (RUNNING, REVERTING) else None
    eta = int((total - done) / rate) if rate and total > done else None
    percent = 100.0 if finished else (round(100 * done / total, 1) if total else 0.0)
    messages = {
        QUEUED: "Waiting for a worker…",
        RUNNING: "Stopping after the current batch…" if job.cancel_requested else "Importing…",
        REVERTING: "Reverting…",
    }
    return {
        "status": job.status,
        "percent": percent,
        "done": done,
        "total": total,
        "rate": round(rate, 1) if rate else None,
        "eta_seconds": eta,
        "message": messages.get(job.status, job.error_message or job.status.capitalize()),
        "finished": finished,
    }


def rejected_rows_csv(job: ImportJob) -> Iterator[str]:
    """The rejected rows as CSV, streamed: the file's own columns plus `error`."""
    header = list((job.summary or {}).get("preview", {}).get("header") or [])
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow([neutralise_cell(name) for name in header] + ["error"])
    yield "\ufeff" + flush()
    rows = db.session.execute(
        select(ImportRowError.row_number, ImportRowError.raw, ImportRowError.reason)
        .where(ImportRowError.import_id == job.id)
        .order_by(ImportRowError.row_number)
        .execution_options(yield_per=2000)
    )
    for count, (_, raw, reason) in enumerate(rows, start=1):
        raw = raw or {}
        cells = [neutralise_cell(raw.get(name, "")) for name in header]
        writer.writerow([*cells, neutralise_cell(reason)])
        if count % 1000 == 0:
            yield flush()
    yield flush()


@dataclass(frozen=True)
class ImportFigures:
    """A finished import's figures for the summary and the history."""

    points_total: int
    customers: int
    reverted: int


def import_figures(job: ImportJob) -> ImportFigures:
    if job.kind != POINTS:
        return ImportFigures(0, 0, 0)
    total, customers = db.session.execute(
        select(
            func.coalesce(func.sum(PointsEntry.delta), 0),
            func.count(PointsEntry.customer_id.distinct()),
        ).where(PointsEntry.import_id == job.id, PointsEntry.source == points.SOURCE)
    ).one()
    reverted = db.session.execute(
        select(func.count()).where(
            PointsEntry.import_id == job.id, PointsEntry.source == points.REVERT_SOURCE
        )
    ).scalar_one()
    return ImportFigures(int(total), int(customers), int(reverted))
