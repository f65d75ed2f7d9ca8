"""The files the app keeps on disk (uploaded CSVs, export files): where they live and when they go.

Uploads and exports hold customers' personal data, so none is kept longer than it serves the
merchant: an upload goes `UPLOAD_RETENTION_HOURS` after its import is over, an export file
`EXPORT_RETENTION_HOURS` after it was written. A deleted file is marked on its row
(`file_deleted_at`), so nothing reads it again and the pages say what happened. The sweeps
and the erasure that use these live in `shopify_app/privacy`.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path

from flask import current_app

from shopify_app.platform.models import ExportJob, ImportJob
from shopify_app.platform.models.base import utcnow
from shopify_app.platform.models.export import DONE as EXPORT_DONE
from shopify_app.platform.models.imports import CANCELLED, DONE, FAILED, REVERTED, REVERTING

#: statuses whose import will never read its upload again.
FINISHED_IMPORT_STATUSES = (
    DONE,
    FAILED,
    CANCELLED,
    REVERTING,
    REVERTED,
)


def export_path(export_dir: str, job: ExportJob) -> Path:
    return Path(export_dir) / str(job.shop_id) / f"export-{job.id}.csv"


def hours(name: str) -> timedelta:
    """A retention setting as a duration."""
    return timedelta(hours=float(current_app.config[name]))


def upload_needed(job: ImportJob) -> bool:
    """Whether the import may still read its upload (a failed run without a final message
    may be retried by its queue)."""
    if job.file_deleted_at is not None:
        return False
    if job.status == FAILED:
        return job.error_message is None
    return job.status not in FINISHED_IMPORT_STATUSES


def delete_upload(job: ImportJob, now: datetime | None = None) -> None:
    """Delete the import's upload for good and mark it deleted."""
    Path(job.file_path).unlink(missing_ok=True)
    job.file_deleted_at = now or utcnow()


def export_paths(job: ExportJob) -> list[Path]:
    """The export's file and the partial file a worker writes first."""
    path = export_file_path(job)
    return [path, path.with_suffix(".part")]


def export_file_path(job: ExportJob) -> Path:
    if job.file_path:
        return Path(job.file_path)
    return export_path(current_app.config["EXPORT_DIR"], job)


def delete_export_file(job: ExportJob, now: datetime | None = None) -> None:
    """Delete the export's file for good and mark it expired."""
    for path in export_paths(job):
        path.unlink(missing_ok=True)
    job.file_deleted_at = now or utcnow()


def upload_deleted_by(job: ImportJob) -> datetime | None:
    """When the retention sweep will delete the upload (None while the import needs it)."""
    if job.file_deleted_at is not None or job.status not in FINISHED_IMPORT_STATUSES:
        return None
    return job.updated_at + hours("UPLOAD_RETENTION_HOURS")


def export_expires_at(job: ExportJob) -> datetime | None:
    """When the export's file goes (None until it is written)."""
    if job.status != EXPORT_DONE or job.finished_at is None:
        return None
    return job.finished_at + hours("EXPORT_RETENTION_HOURS")


def export_available(job: ExportJob) -> bool:
    """The export's file can be downloaded: written, not expired, still on disk."""
    return (
        job.status == EXPORT_DONE
        and job.file_deleted_at is None
        and bool(job.file_path)
        and Path(job.file_path).is_file()
    )


def file_identity(path: Path) -> tuple[int, int] | None:
    """(device, inode) of the file at `path` now; None when it is gone. A rewrite renames a
    new file over the old one, so the identity changes while a reader keeps the old one."""
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return None
    return stat.st_dev, stat.st_ino
