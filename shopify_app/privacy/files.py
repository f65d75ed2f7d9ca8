"""The files the app keeps on disk (uploaded CSVs, export files): how long, and their end.

Uploads and exports hold customers' personal data, so none is kept longer than it serves
the merchant: an upload goes `UPLOAD_RETENTION_HOURS` after its import is done, discarded or
reverted (and a preview left unconfirmed is discarded after `PREVIEW_RETENTION_HOURS`); an
export file goes `EXPORT_RETENTION_HOURS` after it was written. A deleted file is marked on
its row (`file_deleted_at`), so nothing reads it again and the pages say what happened.
Erasure (customers/redact) rewrites the files still needed and deletes the others.
Nothing here commits.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import select

from shopify_app.imports.decisions import cancel_import
from shopify_app.imports.reading import sniff
from shopify_app.platform.errors import ImportFileError
from shopify_app.platform.extensions import db
from shopify_app.platform.files import (
    FINISHED_IMPORT_STATUSES,
    delete_export_file,
    delete_upload,
    export_file_path,
    export_paths,
    hours,
    upload_needed,
)
from shopify_app.platform.models import ExportJob, ImportJob, Shop
from shopify_app.platform.models.base import utcnow
from shopify_app.platform.models.export import DONE as EXPORT_DONE
from shopify_app.platform.models.export import FAILED as EXPORT_FAILED
from shopify_app.platform.models.imports import PREVIEWED, UPLOADED
from shopify_app.privacy.erasure import Person, UnreadableFile, drop_export_rows, erase_from_upload

#: a file no import or export row knows of (a web process killed mid-upload, a dead export
#: worker's partial file) is deleted once it has not been written to for this long.
ORPHAN_GRACE = timedelta(hours=1)
#: rows handled per sweep, so one sweep stays short after a long outage.
SWEEP_BATCH = 500


# --- the retention sweep ------------------------------------------------------------------------


def _past_retention(model: Any, stamp: Any, setting: str, now: datetime, *where: Any) -> list:
    """Rows whose file outlived `setting` (oldest first, a batch at a time, skipping rows
    another worker's sweep holds)."""
    return list(
        db.session.scalars(
            select(model)
            .where(model.file_deleted_at.is_(None), stamp < now - hours(setting), *where)
            .order_by(stamp)
            .limit(SWEEP_BATCH)
            .with_for_update(skip_locked=True)
        )
    )


def discard_abandoned_previews(now: datetime) -> int:
    """Discard previews left unconfirmed past PREVIEW_RETENTION_HOURS, deleting their file."""
    jobs = _past_retention(
        ImportJob,
        ImportJob.updated_at,
        "PREVIEW_RETENTION_HOURS",
        now,
        ImportJob.status == PREVIEWED,
    )
    for job in jobs:
        cancel_import(db.session.get(Shop, job.shop_id), job)
        job.summary = {**(job.summary or {}), "expired": True}
        delete_upload(job, now)
    return len(jobs)


def delete_finished_uploads(now: datetime) -> int:
    """Delete uploads whose import finished more than UPLOAD_RETENTION_HOURS ago."""
    jobs = _past_retention(
        ImportJob,
        ImportJob.updated_at,
        "UPLOAD_RETENTION_HOURS",
        now,
        ImportJob.status.in_(FINISHED_IMPORT_STATUSES),
    )
    for job in jobs:
        delete_upload(job, now)
    return len(jobs)


def expire_exports(now: datetime) -> int:
    """Delete export files written more than EXPORT_RETENTION_HOURS ago (and failed ones')."""
    jobs = _past_retention(
        ExportJob,
        ExportJob.finished_at,
        "EXPORT_RETENTION_HOURS",
        now,
        ExportJob.status.in_([EXPORT_DONE, EXPORT_FAILED]),
    )
    for job in jobs:
        delete_export_file(job, now)
    return len(jobs)


def _known_files() -> set[str]:
    """Every file an import or export row may still read."""
    uploads = db.session.scalars(
        select(ImportJob.file_path).where(ImportJob.file_deleted_at.is_(None))
    )
    exports = db.session.scalars(
        select(ExportJob.file_path).where(
            ExportJob.file_deleted_at.is_(None), ExportJob.file_path.is_not(None)
        )
    )
    return {str(Path(p).resolve()) for p in (*uploads, *exports)}


def delete_orphans(now: datetime) -> int:
    """Delete files under IMPORT_DIR and EXPORT_DIR that no row knows of, once idle for
    ORPHAN_GRACE (a file being written is touched continuously, so it is never taken)."""
    known = _known_files()
    idle_before = (now - ORPHAN_GRACE).timestamp()
    deleted = 0
    for root in (current_app.config["IMPORT_DIR"], current_app.config["EXPORT_DIR"]):
        for path in Path(root).glob("*/*"):
            with contextlib.suppress(FileNotFoundError):
                if not path.is_file() or str(path.resolve()) in known:
                    continue
                if path.stat().st_mtime < idle_before:
                    path.unlink()
                    deleted += 1
    return deleted


# --- erasure -------------------------------------------------------------------------------------


def erase_person_from_uploads(shop: Shop, person: Person) -> int:
    """Uploads a running or future import still needs are rewritten with the person's
    records blank; the others are deleted. Returns how many files changed.

    Each import row is locked first: a running import checks, under that lock, whether its
    file was replaced before it commits a batch (`imports.apply`), so it never commits rows
    it read from the old file after the erasure.
    """
    changed = 0
    jobs = db.session.scalars(
        select(ImportJob)
        .where(ImportJob.shop_id == shop.id, ImportJob.file_deleted_at.is_(None))
        .order_by(ImportJob.id)
        .with_for_update()
    ).all()
    for job in jobs:
        path = Path(job.file_path)
        if not path.is_file():
            job.file_deleted_at = utcnow()
            continue
        if not upload_needed(job):
            delete_upload(job)
            changed += 1
            continue
        try:
            blanked = erase_from_upload(path, *_format(job, path), person)
        except (UnreadableFile, ImportFileError):
            # Privacy comes first: a file we cannot rewrite safely is not kept.
            _discard_unreadable(shop, job)
            changed += 1
            continue
        if blanked:
            erased = (job.summary or {}).get("erased_rows", 0) + len(blanked)
            job.summary = {**(job.summary or {}), "erased_rows": erased}
            changed += 1
    return changed


def _format(job: ImportJob, path: Path) -> tuple[str, str]:
    if job.encoding and job.delimiter:
        return job.encoding, job.delimiter
    source = sniff(path, job.filename)
    return job.encoding or source.encoding, job.delimiter or source.delimiter


def _discard_unreadable(shop: Shop, job: ImportJob) -> None:
    if job.status in (UPLOADED, PREVIEWED):
        cancel_import(shop, job)
    job.summary = {**(job.summary or {}), "file_unreadable": True}
    delete_upload(job)


def erase_customers_from_exports(shop: Shop, customer_ids: Iterable[int]) -> int:
    """Take the customers' rows out of every export file of the shop on disk.

    Rewriting (rather than deleting the exports) keeps the merchant's other rows: an
    erasure request must not make a large export vanish. Exports still being written
    leave erased customers out when they finish (`customers.export`).
    """
    ids = set(customer_ids)
    if not ids:
        return 0
    changed = 0
    jobs = db.session.scalars(
        select(ExportJob).where(
            ExportJob.shop_id == shop.id,
            ExportJob.file_deleted_at.is_(None),
            ExportJob.status == EXPORT_DONE,
        )
    ).all()
    by_path = {str(export_file_path(job)): job for job in jobs}
    folder = Path(current_app.config["EXPORT_DIR"]) / str(shop.id)
    paths = set(by_path) | {str(p) for p in folder.glob("export-*.csv")}
    for name in sorted(paths):
        dropped = drop_export_rows(Path(name), ids)
        job = by_path.get(name)
        if dropped and job is not None:
            job.processed_rows = max(job.processed_rows - dropped, 0)
            job.total_rows = max(job.total_rows - dropped, 0)
        changed += bool(dropped)
    return changed


def delete_shop_files(shop: Shop) -> None:
    """Delete every file of the shop: its folders and any file its rows name elsewhere."""
    for path in db.session.scalars(select(ImportJob.file_path).where(ImportJob.shop_id == shop.id)):
        Path(path).unlink(missing_ok=True)
    for job in db.session.scalars(select(ExportJob).where(ExportJob.shop_id == shop.id)):
        for path in export_paths(job):
            path.unlink(missing_ok=True)
    for root in (current_app.config["IMPORT_DIR"], current_app.config["EXPORT_DIR"]):
        folder = Path(root) / str(shop.id)
        if folder.is_dir():
            shutil.rmtree(folder)
