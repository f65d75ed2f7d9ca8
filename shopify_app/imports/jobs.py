"""RQ entry points of the imports, by dotted path: each opens the job's context, then one call.

`queue_import` (in `runs`) names them: `shopify_app.imports.jobs.run_import` and
`revert_import`; the worker's sweeper calls `sweep_imports`.
"""

from __future__ import annotations

from shopify_app.imports import apply, points_settle, revert, runs
from shopify_app.platform.models import ImportJob
from shopify_app.platform.queue import job_app_context


def run_import(import_id: int) -> str:
    """Apply a confirmed import from its resume position to the end of the file."""
    with job_app_context(owner=(ImportJob, import_id)):
        return apply.run(import_id)


def revert_import(import_id: int) -> str:
    """Undo an import: a points import's points taken back, an events import's events deleted."""
    with job_app_context(owner=(ImportJob, import_id)):
        return revert.revert(import_id)


def sweep_imports() -> int:
    """Queue imports that should be running and are not (never queued, or their worker died);
    settle the points of those that ended without it."""
    with job_app_context():
        return runs.sweep() + points_settle.settle_stranded()
