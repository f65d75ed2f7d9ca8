"""CSV imports up to the preview: the upload stored, its format detected, every row validated.

The flow is the same from the admin and the command line: a file is stored under IMPORT_DIR,
validated in one streaming pass (the preview), and applied by an RQ job after the merchant
confirms (`decisions`). The job checks an all-or-nothing import again with `validate`, and
applies the rows that check parsed (`HeldChunks`) rather than reading them a second time.
Nothing here commits; the view, job or command does.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from sqlalchemy import and_, or_, select

from shopify_app.imports import (
    contacts_preview,
    events_preview,
    events_rows,
    people_preview,
    people_rows,
    points_preview,
    points_rows,
)
from shopify_app.imports.reading import (
    MAX_ROWS,
    CsvSource,
    gc_paused,
    single_byte_encoding,
    sniff,
)
from shopify_app.imports.row_errors import RowError, clear_row_errors, store_row_errors
from shopify_app.imports.uploads import store_upload
from shopify_app.platform.errors import AppError, ImportFileError
from shopify_app.platform.extensions import db
from shopify_app.platform.models import ImportJob, Segment, Shop
from shopify_app.platform.models.imports import (
    CANCELLED,
    CONTACTS,
    DONE,
    EVENTS,
    FAILED,
    PEOPLE,
    POINTS,
    PREVIEWED,
    QUEUED,
    REVERTING,
    RUNNING,
    UPLOADED,
)

KINDS = (POINTS, CONTACTS, PEOPLE, EVENTS)
#: statuses of an import that will apply its file: the same file again needs a confirmation.
PENDING_STATUSES = (QUEUED, RUNNING, REVERTING)
#: ... and of one that has applied it, if it applied any row.
APPLIED_STATUSES = (DONE, FAILED, CANCELLED)
SAMPLE_ROWS = 10


class ImportStateError(AppError):
    """The import is not in a state that allows this action (confirm twice, revert running …)."""


def create_import(
    shop: Shop,
    kind: str,
    filename: str,
    stream: IO[bytes],
    *,
    segment: Segment | None = None,
    update_existing: bool = False,
    points_mode: str | None = None,
    people: dict[str, str] | None = None,
    timezone: str | None = None,
) -> ImportJob:
    """Store the file and validate it; a file that cannot be imported raises ImportFileError.

    A refused file leaves nothing behind: no import row and no stored copy. `points_mode`
    answers ahead the question a `points`/`balance` column raises (ADD or SET); `people`
    holds a people import's `mode` and `empty` (see `people_rows`); `timezone` is the one an
    events file's naive timestamps are read in (the shop's by default).
    """
    if points_mode not in (None, points_rows.ADD, points_rows.SET):
        raise ImportFileError("Choose whether the points column holds points to add or balances.")
    if kind not in KINDS:
        raise ImportFileError("Choose what to import: points, contacts, people or events.")
    if kind == PEOPLE:
        people = people_rows.checked_settings(people or {})
    if kind == CONTACTS and segment is None:
        raise ImportFileError("Choose the segment the contacts go into, or name a new one.")
    summary: dict[str, Any] = {"points_mode": points_mode} if points_mode else {}
    if kind == EVENTS:
        summary["timezone"] = events_rows.check_timezone(timezone or shop.timezone or "UTC")
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
        summary=summary or None,
    )
    if kind == PEOPLE:
        job.summary = {"people": people}
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


#: what a validation pass hands on per chunk: its records, parsed rows and rejected rows.
Chunk = tuple[list[tuple[int, list[str]]], list[Any], list[RowError]]


@dataclass
class HeldChunks:
    """The first chunks a validation pass parsed, held so the job applies them without rereading.

    At most `limit` chunks are held, so memory stays bounded by the chunk, not by the file;
    `overflowed` says the pass went on past them, and the rows after them must be read again.
    """

    limit: int
    chunks: deque[Chunk] = field(default_factory=deque)
    overflowed: bool = False

    def __call__(
        self, records: list[tuple[int, list[str]]], rows: list[Any], errors: list[RowError]
    ) -> None:
        if self.overflowed or len(self.chunks) >= self.limit:
            self.overflowed = True
        else:
            self.chunks.append((records, rows, errors))

    def clear(self) -> None:
        self.chunks.clear()
        self.overflowed = False


def validate(
    shop: Shop,
    job: ImportJob,
    source: CsvSource,
    *,
    chunk_size: int | None = None,
    hold: HeldChunks | None = None,
) -> Validation:
    """Validate every row, storing each rejected row; retries as Windows-1252 if UTF-8 breaks.

    A file can be valid UTF-8 in the sniffed head and not further down (Excel on Windows):
    the pass then starts again in the fallback encoding. The sample comes from the same pass:
    the file is read once.

    Args:
        chunk_size: rows checked (and handed to `hold`) at a time; the job passes its batch.
        hold: keeps the first parsed chunks, for the job to apply without reading them again.
    """
    try:
        with gc_paused():
            return _validate(shop, job, source, chunk_size, hold)
    except UnicodeDecodeError as error:
        if source.encoding not in ("utf-8", "utf-8-sig"):
            raise ImportFileError(
                f"{job.filename} is not a text file in an encoding we can read. Save it again "
                "as “CSV UTF-8” from your spreadsheet and upload that file."
            ) from error
        clear_row_errors(job.id)
        if hold is not None:
            hold.clear()
        source.encoding = single_byte_encoding(source.path)
        with gc_paused():
            return _validate(shop, job, source, chunk_size, hold)


def _validate(
    shop: Shop,
    job: ImportJob,
    source: CsvSource,
    chunk_size: int | None,
    hold: HeldChunks | None,
) -> Validation:
    def on_errors(errors: list[RowError]) -> None:
        store_row_errors(job.id, errors)

    head: list[tuple[int, list[str]]] = []

    def on_chunk(
        records: list[tuple[int, list[str]]], rows: list[Any], errors: list[RowError]
    ) -> None:
        if len(head) < SAMPLE_ROWS:
            head.extend(records[: SAMPLE_ROWS - len(head)])
        if hold is not None:
            hold(records, rows, errors)

    rows = source.rows(limit=MAX_ROWS)
    options: dict[str, Any] = {"on_chunk": on_chunk}
    if chunk_size is not None:
        options["chunk_size"] = chunk_size
    if job.kind == POINTS:
        options["keep_rows"] = hold is not None
        parser = points_parser(job, source)
        mapping = {
            "shopify_id": parser.id_at,
            "points_to_add" if parser.mode == points_rows.ADD else "balance": parser.points_at,
        }
        if parser.description_at is not None:
            mapping["description"] = parser.description_at
        figures = points_preview.preview_points(
            shop.id, rows, parser, on_errors, **options
        ).figures()
        figures["points_mode"] = parser.mode
    elif job.kind == PEOPLE:
        settings = (job.summary or {})["people"]
        figures, mapping = people_preview.people_figures(
            shop, source, rows, on_errors, settings, **options
        )
    elif job.kind == EVENTS:
        mapping, figures = events_preview.preview_events(
            shop, job, source, rows, on_errors, **options
        )
    else:
        figures, mapping = contacts_preview.contacts_figures(
            shop.id, source, rows, on_errors, job.segment_id, job.update_existing, **options
        )
    if figures["rows"] == 0:
        raise ImportFileError(f"{job.filename} has a header but no rows to import.")
    return Validation(
        figures=figures, sample=_sample_of(head, mapping), columns=_columns(source, mapping)
    )


def _columns(source: CsvSource, mapping: dict[str, int]) -> dict[str, str]:
    return {name: source.header[index] for name, index in mapping.items()}


def _sample(source: CsvSource, mapping: dict[str, int]) -> list[dict[str, Any]]:
    """The first rows as the preview shows them, read for a preview that validates nothing."""
    return _sample_of(itertools.islice(source.rows(), SAMPLE_ROWS), mapping)


def _sample_of(
    records: Iterable[tuple[int, list[str]]], mapping: dict[str, int]
) -> list[dict[str, Any]]:
    """The first rows as the preview shows them: the import's columns only."""
    return [
        {
            "row": number,
            "values": {
                name: (values[i].strip() if i < len(values) else "") for name, i in mapping.items()
            },
        }
        for number, values in records
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
        **({"people": job.summary["people"]} if job.kind == PEOPLE else {}),
        "timezone": (job.summary or {}).get("timezone"),
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
