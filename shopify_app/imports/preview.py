"""CSV imports up to the preview: the upload stored, its format detected, every row validated.

The flow is the same from the admin and the command line: a file is stored under IMPORT_DIR,
validated in one streaming pass (the preview), and applied by an RQ job after the merchant
confirms (`decisions`). The job validates an all-or-nothing import again with `validate`.
Nothing here commits; the view, job or command does.
"""

from __future__ import annotations

import hashlib
import itertools
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from flask import current_app
from sqlalchemy import and_, or_, select

from shopify_app.imports import contacts_preview, contacts_rows, points_preview, points_rows
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
from shopify_app.platform.models import ImportJob, Segment, Shop
from shopify_app.platform.models.imports import (
    CANCELLED,
    CONTACTS,
    DONE,
    FAILED,
    POINTS,
    PREVIEWED,
    QUEUED,
    REVERTING,
    RUNNING,
    UPLOADED,
)

KINDS = (POINTS, CONTACTS)
#: statuses of an import that will apply its file: the same file again needs a confirmation.
PENDING_STATUSES = (QUEUED, RUNNING, REVERTING)
#: ... and of one that has applied it, if it applied any row.
APPLIED_STATUSES = (DONE, FAILED, CANCELLED)
SAMPLE_ROWS = 10
CHUNK_BYTES = 1024 * 1024


class ImportStateError(AppError):
    """The import is not in a state that allows this action (confirm twice, revert running …)."""


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
    if points_mode not in (None, points_rows.ADD, points_rows.SET):
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
            "points_to_add" if parser.mode == points_rows.ADD else "balance": parser.points_at,
        }
        if parser.description_at is not None:
            mapping["description"] = parser.description_at
        figures = points_preview.preview_points(shop.id, rows, parser, on_errors).figures()
        figures["points_mode"] = parser.mode
    else:
        mapping = map_columns(source, contacts_rows.COLUMNS)
        contact_parser = contacts_rows.ContactRowParser(source, mapping)
        figures = contacts_preview.preview_contacts(
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


def points_parser(job: ImportJob, source: CsvSource) -> points_rows.PointsRowParser:
    """The one parser of a points file, for the preview and the job alike."""
    mapping, ambiguous = points_rows.points_columns(source)
    mode = points_mode(job) if ambiguous else points_rows.ADD
    if mode is None:
        header = source.header[mapping["points_to_add"]]
        raise PointsModeNeeded(
            f"Say what the column “{header}” holds: points to add to each customer, or each "
            "customer's new balance."
        )
    return points_rows.PointsRowParser(source, mapping, default_description(job), mode=mode)


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
        mapping, ambiguous = points_rows.points_columns(source)
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
    if mode not in (points_rows.ADD, points_rows.SET):
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
