"""Large customer exports, written to a file by a worker while the page shows progress."""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from flask import current_app
from sqlalchemy import Row, update

from shopify_app.customers.export import publish_export_file, write_export_file
from shopify_app.platform import sweeps
from shopify_app.platform.extensions import db
from shopify_app.platform.files import export_file_path
from shopify_app.platform.models import ExportJob, Shop
from shopify_app.platform.models.base import utcnow
from shopify_app.platform.models.export import DONE, FAILED, QUEUED, RUNNING
from shopify_app.platform.queue import enqueue, job_app_context
from shopify_app.platform.sweeps import Sweep, Waiting

log = logging.getLogger(__name__)
EXPORT_FAILED = "The export file could not be written on our side."
PROGRESS_EVERY_SECONDS = 0.5
#: a running export silent this long lost its worker; a queued one this long lost its enqueue.
STALE_RUNNING = timedelta(minutes=5)
STALE_QUEUED = timedelta(minutes=1)


def enqueue_export(job: ExportJob) -> bool:
    return enqueue(
        "shopify_app.customers.export_jobs.run_export", job.id, job_id=f"export-{job.id}"
    )


def _claim(export_id: int) -> bool:
    """Take the export for this worker: queued, failed, or running but silent (dead worker)."""
    now = utcnow()
    claimed = db.session.execute(
        update(ExportJob)
        .where(
            ExportJob.id == export_id,
            ExportJob.status.in_([QUEUED, FAILED])
            | ((ExportJob.status == RUNNING) & (ExportJob.updated_at < now - STALE_RUNNING)),
        )
        .values(
            status=RUNNING, started_at=now, updated_at=now, processed_rows=0, error_message=None
        )
        .returning(ExportJob.id)
    ).first()
    return claimed is not None


def run_export(export_id: int) -> None:
    """Write the export's CSV; a finished export is left alone, an interrupted one restarts."""
    with job_app_context(owner=(ExportJob, export_id)):
        if not _claim(export_id):
            return
        db.session.commit()
        job = db.session.get(ExportJob, export_id)
        shop = db.session.get(Shop, job.shop_id)
        last = time.monotonic()

        def progress(done: int) -> None:
            nonlocal last
            if time.monotonic() - last < PROGRESS_EVERY_SECONDS:
                return
            last = time.monotonic()
            db.session.execute(
                update(ExportJob)
                .where(ExportJob.id == export_id)
                .values(processed_rows=done, updated_at=utcnow())
            )
            db.session.commit()

        path = export_file_path(job)
        partial = path.with_suffix(".part")
        try:
            rows = write_export_file(shop, job, partial, progress)
            dropped = publish_export_file(shop, partial, path, job.started_at or utcnow())
        except Exception:
            db.session.rollback()
            partial.unlink(missing_ok=True)
            log.exception("export %s failed", export_id)
            job = db.session.get(ExportJob, export_id)
            job.status, job.error_message = FAILED, EXPORT_FAILED
            job.finished_at = utcnow()
            db.session.commit()
            return
        if dropped is None:  # shop/redact ran meanwhile: nothing of the shop is kept
            db.session.commit()
            return
        job = db.session.get(ExportJob, export_id)
        rows -= dropped
        job.status, job.processed_rows, job.total_rows = DONE, rows, rows
        job.file_path, job.finished_at = str(path), utcnow()
        db.session.commit()


def _export_again(row: Row) -> bool:
    current_app.logger.info("re-queueing export %s", row.id)
    return enqueue(
        "shopify_app.customers.export_jobs.run_export", row.id, job_id=f"export-{row.id}"
    )


#: exports whose enqueue was lost (queued too long) or whose worker died (running, silent);
#: no attempt limit: `_claim` restarts an interrupted export from the top.
WAITING = Sweep(
    ExportJob,
    (
        Waiting(ExportJob.status == QUEUED, ExportJob.updated_at, STALE_QUEUED),
        Waiting(ExportJob.status == RUNNING, ExportJob.updated_at, STALE_RUNNING),
    ),
    _export_again,
)


def sweep_exports() -> int:
    """Re-queue exports whose enqueue was lost or whose worker died (run by the sweeper)."""
    with job_app_context():
        return sweeps.run(WAITING)
