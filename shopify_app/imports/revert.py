"""Reverting an import, resumably: a points import gets one compensating ledger entry per row
it applied; an events import has the events it added deleted (a people import's revert is
`people_revert`).

The compensating entries go through the same ledger path as the import (source
`import_revert`, keyed by row), so a revert batch that runs twice takes nothing back twice.
Deleting events is idempotent by nature; the points they earned stay in the ledger.
"""

from __future__ import annotations

from sqlalchemy import select

from shopify_app.imports import points_ledger, points_rows
from shopify_app.imports.decisions import revert_entries
from shopify_app.imports.events_history import delete_events
from shopify_app.imports.people_revert import revert_people
from shopify_app.imports.points_settle import settle
from shopify_app.imports.runs import (
    LostClaim,
    Progress,
    batch_size,
    claim,
    fence,
    hold_write_lock,
    import_lock,
)
from shopify_app.platform.extensions import db
from shopify_app.platform.models import ImportJob, PointsEntry
from shopify_app.platform.models.base import utcnow
from shopify_app.platform.models.imports import EVENTS, PEOPLE, REVERTED, REVERTING


def revert(import_id: int) -> str:
    """Undo an import: take back a points import's points, delete an events import's events."""
    with import_lock(import_id) as held:
        if not held:
            return "busy"
        attempt = claim(import_id, REVERTING)
        if attempt is None:
            return "skipped"
        try:
            return _revert(import_id, attempt)
        except LostClaim:
            return "taken over"


def _revert(import_id: int, attempt: int) -> str:
    job = db.session.get(ImportJob, import_id)
    if job.kind == PEOPLE:
        return revert_people(job, attempt)
    shop_id = job.shop_id
    if job.kind == EVENTS:
        return _revert_events(job, attempt)
    # What the import applied is in the balances before any of it is taken back.
    settle(job)
    db.session.commit()
    progress = Progress()
    after = 0
    size = batch_size()
    while True:
        hold_write_lock(import_id)
        entries = db.session.execute(
            select(
                PointsEntry.row_number,
                PointsEntry.customer_id,
                PointsEntry.delta,
                PointsEntry.description,
            )
            .where(*revert_entries(shop_id, import_id), PointsEntry.row_number > after)
            .order_by(PointsEntry.row_number)
            .limit(size)
        ).all()
        if not entries:
            break
        rows = [
            (row, customer, -delta, f"Reverted: {description}"[: points_rows.MAX_DESCRIPTION])
            for row, customer, delta, description in entries
        ]
        applied, rejections = points_ledger.apply_points(
            shop_id, import_id, rows, source=points_rows.REVERT_SOURCE, by_customer_id=True
        )
        fence(import_id, attempt, REVERTING)
        revert = dict((job.summary or {}).get("revert") or {})
        revert["done"] = revert.get("done", 0) + applied
        revert["skipped"] = revert.get("skipped", 0) + len(rejections)
        job.summary = {**(job.summary or {}), "revert": revert}
        job.heartbeat_at = utcnow()
        job.rows_per_second = progress.add(len(entries))
        db.session.commit()
        after = entries[-1][0]
    fence(import_id, attempt, REVERTING)
    job.status = REVERTED
    job.finished_at = utcnow()
    job.rows_per_second = None
    db.session.commit()
    return "reverted"


def _revert_events(job: ImportJob, attempt: int) -> str:
    """Delete the events the import added, a batch per commit, until none is left."""
    progress = Progress()
    size = batch_size()
    while True:
        hold_write_lock(job.id)
        deleted = delete_events(job.shop_id, job.id, size)
        fence(job.id, attempt, REVERTING)
        revert = dict((job.summary or {}).get("revert") or {})
        revert["done"] = revert.get("done", 0) + deleted
        job.summary = {**(job.summary or {}), "revert": revert}
        job.heartbeat_at = utcnow()
        job.rows_per_second = progress.add(deleted)
        if not deleted:
            break
        db.session.commit()
    job.status = REVERTED
    job.finished_at = utcnow()
    job.rows_per_second = None
    db.session.commit()
    return "reverted"
