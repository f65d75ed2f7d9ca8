"""The merchant's decisions on an import: confirm, cancel and revert, each with what it would do.

Each action checks the import's state first and raises ImportStateError in the merchant's
words; the plans (`plan_cancel`, `plan_revert`) are the exact counts the confirm page shows.
Nothing here commits; the view or command does, then enqueues the job.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func, select

from shopify_app.imports import events_rows, points_rows
from shopify_app.imports.events_history import count_events
from shopify_app.imports.people_revert import (
    PeopleRevertPlan,
    people_revert_refusal,
    plan_people_revert,
)
from shopify_app.imports.people_rows import checked_settings
from shopify_app.imports.preview import (
    ImportStateError,
    PointsModeNeeded,
    find_duplicate,
    run_preview,
)
from shopify_app.imports.row_errors import clear_row_errors
from shopify_app.platform.extensions import db
from shopify_app.platform.models import ImportJob, PointBalance, PointsEntry, Shop
from shopify_app.platform.models.base import utcnow
from shopify_app.platform.models.imports import (
    CANCELLED,
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
from shopify_app.platform.shops import lock_shop


class DuplicateFileNotConfirmed(ImportStateError):
    """The file is identical to an earlier import and the merchant has not confirmed."""

    def __init__(self, message: str, *, duplicate_of: int) -> None:
        super().__init__(message)
        self.duplicate_of = duplicate_of


def mark_duplicate(job: ImportJob, duplicate_of: int) -> None:
    """Show the preview's "already imported" warning after a confirm found the twin."""
    job.summary = {**(job.summary or {}), "duplicate_of": duplicate_of}


def confirm_import(
    shop: Shop,
    job: ImportJob,
    *,
    apply_with_errors: bool,
    confirm_duplicate: bool = False,
    confirm_updates: bool = False,
) -> None:
    """Queue a previewed import; the caller commits and then enqueues the job.

    `confirm_updates` is the merchant's yes to a people import that updates existing customers.
    """
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
    # Events are keyed by what they say: importing a file again only adds what is missing.
    if duplicate is not None and not confirm_duplicate and job.kind != EVENTS:
        raise DuplicateFileNotConfirmed(
            f"This file is identical to an earlier import (#{duplicate.id}), whose rows were "
            "applied. "
            "Tick “Import it again” to confirm that you want its rows applied a second time.",
            duplicate_of=duplicate.id,
        )
    if job.kind == PEOPLE and preview.get("updated") and not confirm_updates:
        raise ImportStateError(
            f"This file updates {preview['updated']:,} existing customers. Tick “Update "
            "existing customers” to confirm that their attributes may change."
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


def choose_people_settings(shop: Shop, job: ImportJob, settings: dict[str, str | None]) -> None:
    """Preview a people file again under another mode or empty-cell rule: the counts differ."""
    if job.shop_id != shop.id or job.status != PREVIEWED or job.kind != PEOPLE:
        raise ImportStateError("This import can no longer be changed.")
    chosen = checked_settings(settings)
    clear_row_errors(job.id)
    job.summary = {**(job.summary or {}), "people": chosen}
    run_preview(shop, job)


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
            PointsEntry.source.in_([points_rows.SOURCE, points_rows.REVERT_SOURCE]),
        )
        .group_by(PointsEntry.customer_id)
        .subquery()
    )
    return db.session.execute(
        select(func.count())
        .select_from(per_customer)
        .join(PointBalance, PointBalance.customer_id == per_customer.c.customer_id)
        .where(PointBalance.balance - per_customer.c.delta < 0)
    ).scalar_one()


def revert_entries(shop_id: int, import_id: int) -> list[Any]:
    """The ledger entries a revert takes back (the import's own rows), as WHERE criteria.

    The revert job walks them and the confirmation counts them, so both see the same rows.
    """
    return [
        PointsEntry.import_id == import_id,
        PointsEntry.shop_id == shop_id,
        PointsEntry.source == points_rows.SOURCE,
    ]


def revert_refusal(shop: Shop, job: ImportJob) -> str | None:
    """Why the import cannot be reverted now, in the merchant's words; None when it can."""
    if job.kind == PEOPLE:
        return people_revert_refusal(job)
    if job.kind == EVENTS:
        if job.status not in (DONE, CANCELLED, FAILED) or not job.applied_rows:
            return "Only a finished events import that added events can be reverted."
        return None
    if job.kind != POINTS:
        return "Only points, people and events imports can be reverted."
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


def plan_revert(shop: Shop, job: ImportJob) -> RevertPlan | PeopleRevertPlan:
    """Count the rows, points and customers a revert would take back, without changing any."""
    if job.kind == PEOPLE:
        return plan_people_revert(shop, job)
    if job.kind == EVENTS:
        events, customers = count_events(shop.id, job.id)
        return RevertPlan(events, 0, 0, customers, 0, revert_refusal(shop, job))
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
    """Queue the revert of an import: compensating ledger entries for points, the undo log for
    people."""
    refusal = revert_refusal(shop, job)
    if refusal:
        raise ImportStateError(refusal)
    revert: dict[str, int] = {"done": 0, "skipped": 0}
    if job.kind == PEOPLE:
        revert["total"] = plan_people_revert(shop, job).rows
    job.status = REVERTING
    job.heartbeat_at = None
    job.summary = {**(job.summary or {}), "revert": revert}
    job.summary = {**(job.summary or {}), "revert": {"done": 0, "skipped": 0}}


def choose_timezone(shop: Shop, job: ImportJob, timezone: str) -> None:
    """Read an events file's timestamps without an offset in `timezone`, and preview again."""
    if job.shop_id != shop.id or job.status != PREVIEWED or job.kind != EVENTS:
        raise ImportStateError("This import can no longer be changed.")
    job.summary = {**(job.summary or {}), "timezone": events_rows.check_timezone(timezone)}
    clear_row_errors(job.id)
    run_preview(shop, job)
