"""Reverting a people import: each changed attribute back as it was, its new contacts deleted.

The undo log (`AttributeChange`) says what the import found and what it wrote. A value is
restored only while it still holds what the import wrote, so a later import or edit is not
undone with it; a contact is deleted only while it is still a bare contact (no Shopify
account, not in the program, no points). Each batch deletes the log rows it has undone in the
same transaction, so a revert that is run again, or resumed after a killed worker, carries on
where it stopped and undoes nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, delete, func, select, update

from shopify_app.imports.attribute_types import same_value
from shopify_app.imports.runs import Progress, batch_size, fence, hold_write_lock
from shopify_app.platform.db import is_postgresql
from shopify_app.platform.extensions import db
from shopify_app.platform.models import (
    AttributeChange,
    Customer,
    ImportJob,
    Invitation,
    PointBalance,
    SegmentMember,
    Shop,
)
from shopify_app.platform.models.base import utcnow
from shopify_app.platform.models.imports import CANCELLED, DONE, FAILED, REVERTED, REVERTING

_customers = Customer.__table__


@dataclass(frozen=True)
class PeopleRevertPlan:
    """What reverting would do now: customers whose attributes go back, contacts deleted."""

    customers: int
    contacts: int
    #: log rows the revert walks, those it finds nothing to undo in included.
    rows: int
    refusal: str | None


def people_revert_refusal(job: ImportJob) -> str | None:
    if job.status not in (DONE, CANCELLED, FAILED) or not job.applied_rows:
        return "Only a finished people import that changed customers can be reverted."
    return None


def plan_people_revert(shop: Shop, job: ImportJob) -> PeopleRevertPlan:
    """Count the customers and contacts a revert would take back, without changing any."""
    customers = contacts = rows = 0
    for created, changed, count in db.session.execute(
        select(AttributeChange.created, AttributeChange.changes.is_not(None), func.count())
        .where(AttributeChange.shop_id == shop.id, AttributeChange.import_id == job.id)
        .group_by(AttributeChange.created, AttributeChange.changes.is_not(None))
    ):
        rows += count
        if created:
            contacts += count
        elif changed:
            customers += count
    return PeopleRevertPlan(customers, contacts, rows, people_revert_refusal(job))


def revert_people(job: ImportJob, attempt: int) -> str:
    """Undo the import batch by batch, from its undo log, until the log is empty."""
    progress = Progress()
    size = batch_size()
    while True:
        hold_write_lock(job.id)
        changes = (
            db.session.execute(
                select(AttributeChange)
                .where(AttributeChange.shop_id == job.shop_id, AttributeChange.import_id == job.id)
                .order_by(AttributeChange.id)
                .limit(size)
            )
            .scalars()
            .all()
        )
        if not changes:
            break
        figures = _undo(job.shop_id, changes)
        db.session.execute(
            delete(AttributeChange).where(AttributeChange.id.in_([c.id for c in changes]))
        )
        fence(job.id, attempt, REVERTING)
        revert = dict((job.summary or {}).get("revert") or {})
        for key, value in figures.items():
            revert[key] = revert.get(key, 0) + value
        revert["done"] = revert.get("done", 0) + len(changes)
        job.summary = {**(job.summary or {}), "revert": revert}
        job.heartbeat_at = utcnow()
        job.rows_per_second = progress.add(len(changes))
        db.session.commit()
    fence(job.id, attempt, REVERTING)
    job.status = REVERTED
    job.finished_at = utcnow()
    job.rows_per_second = None
    db.session.commit()
    return "reverted"


def _undo(shop_id: int, changes: list[AttributeChange]) -> dict[str, int]:
    """Restore and delete what one batch of log rows names; returns what it did."""
    ids = sorted({c.customer_id for c in changes})
    query = select(Customer).where(Customer.shop_id == shop_id, Customer.id.in_(ids))
    customers = {
        c.id: c
        for c in db.session.execute(query.with_for_update() if is_postgresql() else query).scalars()
    }
    untouched = _without_points(shop_id, [c.customer_id for c in changes if c.created])
    figures = {"restored": 0, "deleted": 0, "kept": 0}
    updates: list[dict[str, Any]] = []
    doomed: list[int] = []
    for change in changes:
        customer = customers.get(change.customer_id)
        if customer is None or customer.redacted_at is not None:
            continue
        if change.created and customer.id in untouched and _bare_contact(customer):
            doomed.append(customer.id)
            continue
        attributes = dict(customer.attributes or {})
        restored = False
        for name, (before, after) in (change.changes or {}).items():
            if not same_value(attributes.get(name), after):
                figures["kept"] += 1  # changed since the import: theirs now
                continue
            if before is None:
                attributes.pop(name, None)
            else:
                attributes[name] = before
            restored = True
        if restored:
            updates.append({"b_id": customer.id, "b_attributes": attributes or None})
            figures["restored"] += 1
    if updates:
        db.session.execute(
            update(_customers)
            .where(_customers.c.shop_id == shop_id, _customers.c.id == bindparam("b_id"))
            .values(attributes=bindparam("b_attributes"), updated_at=utcnow()),
            updates,
        )
    if doomed:
        for model in (SegmentMember, Invitation, PointBalance):
            db.session.execute(
                delete(model).where(model.shop_id == shop_id, model.customer_id.in_(doomed))
            )
        db.session.execute(
            delete(Customer).where(Customer.shop_id == shop_id, Customer.id.in_(doomed))
        )
        figures["deleted"] = len(doomed)
    return figures


def _bare_contact(customer: Customer) -> bool:
    """Still only what the import made: no Shopify account, not in the program."""
    return (
        customer.shopify_id is None and customer.joined_at is None and customer.deleted_at is None
    )


def _without_points(shop_id: int, customer_ids: list[int]) -> set[int]:
    """Those of the customers whose points never moved."""
    if not customer_ids:
        return set()
    moved = set(
        db.session.execute(
            select(PointBalance.customer_id).where(
                PointBalance.shop_id == shop_id,
                PointBalance.customer_id.in_(customer_ids),
                (PointBalance.balance != 0) | PointBalance.last_activity_at.is_not(None),
            )
        ).scalars()
    )
    return set(customer_ids) - moved
