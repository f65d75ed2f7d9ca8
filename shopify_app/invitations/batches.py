"""Creating an invitation batch and expanding it into one queued invitation per invitee.

The request only records the selection (`create_batch`); the prepare job expands it
(`prepare_batch`) off the request, since a "select all matching" or a segment may name
hundreds of thousands of customers. Expanding is idempotent, so a re-run job changes nothing.
"""

from __future__ import annotations

from sqlalchemy import and_, exists, func, insert, literal, select, update
from sqlalchemy.exc import IntegrityError

from shopify_app.integrations.klaviyo.connection import klaviyo_sends_invitations
from shopify_app.invitations.selection import (
    INVITE,
    SKIP_REASONS,
    Selection,
    count_by_reason,
    in_selection,
    selected_ids,
    skip_reason,
)
from shopify_app.platform.extensions import db
from shopify_app.platform.models import Customer, Invitation, InvitationBatch, Shop
from shopify_app.platform.models.base import utcnow
from shopify_app.platform.models.invitation import BATCH_DONE, BATCH_PREPARING, FAILED, QUEUED
from shopify_app.program import config as program
from shopify_app.segments.enrolments import record_enrolments


def create_batch(shop: Shop, selection: Selection, *, send: bool = True) -> InvitationBatch:
    """A batch waiting for its prepare job (which expands large selections off the request).

    `send=False` is the audience step without invitations: it only enrols.
    """
    if selection.segment_id is not None:
        selected_ids(shop, selection)  # a segment of another shop is refused here
    batch = InvitationBatch(
        shop_id=shop.id, status=BATCH_PREPARING, selection={**selection.to_json(), "send": send}
    )
    db.session.add(batch)
    db.session.flush()
    return batch


def prepare_batch(shop: Shop, batch: InvitationBatch, *, send: bool = True) -> int:
    """Enrol (audience step) and create the batch's invitations; returns how many to send.

    Idempotent: invitations are inserted only for customers without one, and failed ones are
    re-queued into this batch; running it twice changes nothing more. When a Klaviyo flow
    sends the invitations, those the app would email are enrolled instead (Klaviyo gets
    their "Joined Referral Program" event) and no invitation is queued.
    """
    selection = Selection.from_json(batch.selection or {})
    counts = count_by_reason(shop, selection)
    enrolled = 0
    if selection.enrol:
        ids = (
            db.session.execute(
                select(Customer.id).where(in_selection(shop, selection), program.joinable(shop))
            )
            .scalars()
            .all()
        )
        enrolled += program.join_customers(shop, ids)
        if selection.segment_id is not None:
            record_enrolments(shop, selection.segment_id, ids)
    by_klaviyo = send and klaviyo_sends_invitations(shop)
    if by_klaviyo:
        eligible = and_(in_selection(shop, selection), skip_reason(shop, selection.enrol) == INVITE)
        ids = db.session.execute(select(Customer.id).where(eligible)).scalars().all()
        enrolled += program.join_customers(shop, ids)
        send = False
    if send:
        _queue_invitations(shop, batch, selection)
    total = db.session.execute(
        select(func.count()).select_from(Invitation).where(Invitation.batch_id == batch.id)
    ).scalar_one()
    batch.total = total
    batch.summary = {
        "skipped": {k: counts[k] for k in SKIP_REASONS if counts.get(k)},
        "enrolled": enrolled,
        "invited": total,
    }
    if by_klaviyo:
        batch.summary["by_klaviyo"] = True
    batch.status = "sending" if total else BATCH_DONE
    batch.started_at = batch.started_at or utcnow()
    if not total:
        batch.finished_at = utcnow()
    return total


def _queue_invitations(shop: Shop, batch: InvitationBatch, selection: Selection) -> None:
    eligible = and_(in_selection(shop, selection), skip_reason(shop, selection.enrol) == INVITE)
    now = utcnow()
    db.session.execute(
        update(Invitation)
        .where(
            Invitation.shop_id == shop.id,
            Invitation.status == FAILED,
            Invitation.customer_id.in_(select(Customer.id).where(eligible).scalar_subquery()),
        )
        .values(
            batch_id=batch.id,
            status=QUEUED,
            attempts=0,
            error=None,
            next_attempt_at=None,
            claimed_at=None,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    stamp = literal(now, Invitation.__table__.c.created_at.type)
    rows = select(
        literal(shop.id),
        Customer.id,
        literal(batch.id),
        Customer.email,
        literal(QUEUED),
        literal(0),
        stamp,
        stamp,
    ).where(
        eligible,
        ~exists().where(Invitation.shop_id == shop.id, Invitation.customer_id == Customer.id),
    )
    columns = ["shop_id", "customer_id", "batch_id", "email", "status", "attempts"]
    try:
        with db.session.begin_nested():
            db.session.execute(
                insert(Invitation).from_select([*columns, "created_at", "updated_at"], rows)
            )
    except IntegrityError:
        # Another batch invited some of them in the meantime: insert the rest.
        db.session.execute(
            insert(Invitation).from_select([*columns, "created_at", "updated_at"], rows)
        )
