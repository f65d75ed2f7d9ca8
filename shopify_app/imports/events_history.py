"""What an events import finds of earlier ones: the same file run before, and its own events.

An events file is keyed by what it says, so the same bytes read in the same timezone add
nothing the second time: a re-run can take the earlier outcome instead of reading a million
rows to find that out. A revert deletes the events an import added.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, exists, func, literal, or_, select

from shopify_app.imports.events_preview import timezone_of
from shopify_app.platform.extensions import db
from shopify_app.platform.models import Customer, CustomerEvent, ImportJob, ImportRowError
from shopify_app.platform.models.imports import DONE, EVENTS


def same_file_applied(job: ImportJob) -> ImportJob | None:
    """An earlier import of the same bytes read in the same timezone that ran to its end.

    Its events are keyed by what the file says, so this run could add nothing it did not,
    unless a row it rejected would pass now: one in the future then (time has passed), or one
    for a customer the store did not have (and a customer was added or changed since).
    """
    for earlier in db.session.execute(
        select(ImportJob)
        .where(
            ImportJob.shop_id == job.shop_id,
            ImportJob.kind == EVENTS,
            ImportJob.file_sha256 == job.file_sha256,
            ImportJob.status == DONE,
            ImportJob.id != job.id,
            ImportJob.processed_rows == ImportJob.total_rows,
        )
        .order_by(ImportJob.id.desc())
        .limit(5)
    ).scalars():
        result = (earlier.summary or {}).get("result") or {}
        if timezone_of(earlier) != timezone_of(job) or result.get("future", 1):
            continue
        if result.get("unknown_customers", 1) and _customers_changed_since(earlier):
            continue
        return earlier
    return None


def _customers_changed_since(earlier: ImportJob) -> bool:
    since: datetime = earlier.started_at or earlier.created_at
    return bool(
        db.session.execute(
            select(
                exists().where(
                    Customer.shop_id == earlier.shop_id,
                    or_(Customer.created_at >= since, Customer.updated_at >= since),
                )
            )
        ).scalar()
    )


def take_outcome_of(job: ImportJob, earlier: ImportJob) -> None:
    """Record the earlier run's outcome as this one's: nothing added, its rejected rows."""
    columns = ("row_number", "column", "value", "reason", "raw")
    db.session.execute(delete(ImportRowError).where(ImportRowError.import_id == job.id))
    db.session.execute(
        ImportRowError.__table__.insert().from_select(
            ["import_id", *columns],
            select(
                literal(job.id),
                *(ImportRowError.__table__.c[name] for name in columns),
            ).where(ImportRowError.import_id == earlier.id),
        )
    )
    result = dict((earlier.summary or {}).get("result") or {})
    valid = earlier.processed_rows - earlier.error_rows
    result.update(added=0, already_imported=valid, repeated_rows=0, same_file_as=earlier.id)
    job.processed_rows = job.total_rows
    job.last_row_number = earlier.last_row_number
    job.applied_rows = 0
    job.error_rows = earlier.error_rows
    job.summary = {**(job.summary or {}), "result": result}


def delete_events(shop_id: int, import_id: int, limit: int) -> int:
    """Delete up to `limit` of the events an import added; returns how many (0: all gone)."""
    batch = (
        select(CustomerEvent.id)
        .where(CustomerEvent.shop_id == shop_id, CustomerEvent.import_id == import_id)
        .limit(limit)
        .scalar_subquery()
    )
    return (
        db.session.execute(
            delete(CustomerEvent)
            .where(CustomerEvent.shop_id == shop_id, CustomerEvent.id.in_(batch))
            .execution_options(synchronize_session=False)
        ).rowcount
        or 0
    )


def count_events(shop_id: int, import_id: int) -> tuple[int, int]:
    """(events, customers) an import added that are still stored: what a revert deletes."""
    events, customers = db.session.execute(
        select(func.count(), func.count(CustomerEvent.customer_id.distinct())).where(
            CustomerEvent.shop_id == shop_id, CustomerEvent.import_id == import_id
        )
    ).one()
    return int(events), int(customers)
