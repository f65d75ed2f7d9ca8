"""What the import pages show: the history, the progress bar, rejected rows and final figures.

Read-only: these functions read the import row and its rejected rows as the job left them,
so a page can poll them while a worker runs.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from shopify_app.imports import points_rows
from shopify_app.platform.extensions import db
from shopify_app.platform.models import ImportJob, ImportRowError, PointsEntry, Shop
from shopify_app.platform.models.imports import (
    POINTS,
    QUEUED,
    REVERTED,
    REVERTING,
    RUNNING,
    UPLOADED,
)
from shopify_app.platform.spreadsheet import neutralise_cell

#: An import's status as the merchant reads it, in its badge (pages and the polled JSON) and
#: the badge's tone.
STATUS_BADGES: dict[str, tuple[str, str | None]] = {
    "previewed": ("Awaiting confirmation", "attention"),
    QUEUED: ("Queued", "info"),
    RUNNING: ("Importing", "info"),
    "done": ("Done", "success"),
    "failed": ("Failed", "critical"),
    "cancelled": ("Cancelled", None),
    REVERTING: ("Reverting", "warning"),
    REVERTED: ("Reverted", "warning"),
}


def status_badge(status: str) -> tuple[str, str | None]:
    """The badge's words and tone for a status."""
    return STATUS_BADGES.get(status, (status.capitalize(), None))


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
        done, total = revert.get("done", 0), revert.get("total", job.applied_rows)
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
        "label": status_badge(job.status)[0],
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
        ).where(PointsEntry.import_id == job.id, PointsEntry.source == points_rows.SOURCE)
    ).one()
    reverted = db.session.execute(
        select(func.count()).where(
            PointsEntry.import_id == job.id, PointsEntry.source == points_rows.REVERT_SOURCE
        )
    ).scalar_one()
    return ImportFigures(int(total), int(customers), int(reverted))
