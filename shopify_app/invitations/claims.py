"""An invitation's life after it is queued: claimed by one worker, sent or failed, resent.

Workers claim invitations with a conditional UPDATE (`FOR UPDATE SKIP LOCKED` on PostgreSQL),
so two workers on the same batch never send one email twice; a claim whose worker died is
failed for an explicit Resend, never re-sent blindly. The batch's counts are recomputed from
its invitations after each change, so they never drift from the rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import aliased

from shopify_app.invitations.selection import InvalidSelection
from shopify_app.platform.errors import NotFound
from shopify_app.platform.extensions import db
from shopify_app.platform.models import Invitation, InvitationBatch, Shop
from shopify_app.platform.models.base import utcnow
from shopify_app.platform.models.invitation import (
    BATCH_DONE,
    BATCH_PREPARING,
    FAILED,
    QUEUED,
    SENDING,
    SENT,
)
from shopify_app.platform.retry import RetryPolicy

MAX_ATTEMPTS = 5
#: a claim older than this never finished (its worker died mid-send); it is not re-sent blindly.
CLAIM_LEASE = timedelta(minutes=10)
#: a temporary mail failure is tried again after 30 s, 60 s, 2 min … at most an hour.
RESEND_BACKOFF = RetryPolicy(first_delay=30.0, max_delay=3600.0)


@dataclass(frozen=True)
class Claimed:
    invitation_id: int
    customer_id: int
    attempts: int


def claim_invitations(shop: Shop, batch_id: int, limit: int) -> list[Claimed]:
    """Atomically take up to `limit` due invitations of the batch for this worker.

    The CTE locks the rows it picks and skips those another worker holds; the UPDATE re-checks
    the status, so a row is claimed by exactly one worker even without SKIP LOCKED (SQLite).
    """
    now = utcnow()
    row = aliased(Invitation)  # a separate FROM: never correlated to the UPDATE's own rows
    due = (
        select(row.id)
        .where(
            row.batch_id == batch_id,
            row.shop_id == shop.id,
            row.status == QUEUED,
            or_(row.next_attempt_at.is_(None), row.next_attempt_at <= now),
        )
        .order_by(row.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .cte("due")  # evaluated once: an IN (subquery) may be re-run and over-claim
    )
    rows = db.session.execute(
        update(Invitation)
        .where(Invitation.id == due.c.id, Invitation.status == QUEUED)
        .values(status=SENDING, claimed_at=now, attempts=Invitation.attempts + 1, updated_at=now)
        .returning(Invitation.id, Invitation.customer_id, Invitation.attempts)
        .execution_options(synchronize_session=False)
    ).all()
    return sorted((Claimed(*row) for row in rows), key=lambda c: c.invitation_id)


@dataclass
class SendResults:
    """Outcomes of one claimed chunk, recorded in one statement per outcome."""

    sent: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)
    retry: dict[int, tuple[str, int]] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return len(self.sent) + len(self.failed) + len(self.retry)

    def transient(self, claimed: Claimed, error: str) -> None:
        if claimed.attempts >= MAX_ATTEMPTS:
            self.failed[claimed.invitation_id] = error
        else:
            self.retry[claimed.invitation_id] = (error, claimed.attempts)


def record_results(shop: Shop, batch_id: int, results: SendResults) -> None:
    now = utcnow()
    options = {"synchronize_session": False}
    if results.sent:
        db.session.execute(
            update(Invitation)
            .where(Invitation.id.in_(results.sent), Invitation.shop_id == shop.id)
            .values(status=SENT, sent_at=now, error=None, next_attempt_at=None, updated_at=now)
            .execution_options(**options)
        )
    for invitation_id, error in results.failed.items():
        db.session.execute(
            update(Invitation)
            .where(Invitation.id == invitation_id, Invitation.shop_id == shop.id)
            .values(status=FAILED, error=error[:2000], next_attempt_at=None, updated_at=now)
            .execution_options(**options)
        )
    for invitation_id, (error, attempts) in results.retry.items():
        db.session.execute(
            update(Invitation)
            .where(Invitation.id == invitation_id, Invitation.shop_id == shop.id)
            .values(
                status=QUEUED,
                error=error[:2000],
                next_attempt_at=now + RESEND_BACKOFF.wait(attempts),
                updated_at=now,
            )
            .execution_options(**options)
        )
    refresh_batch(shop, batch_id)


def refresh_batch(shop: Shop, batch_id: int) -> InvitationBatch | None:
    """Recount the batch from its invitations; mark it done when nothing is left to send."""
    counts = dict(
        db.session.execute(
            select(Invitation.status, func.count())
            .where(Invitation.batch_id == batch_id, Invitation.shop_id == shop.id)
            .group_by(Invitation.status)
        ).all()
    )
    batch = db.session.execute(
        select(InvitationBatch)
        .where(InvitationBatch.id == batch_id, InvitationBatch.shop_id == shop.id)
        .with_for_update()
    ).scalar_one_or_none()
    if batch is None:
        return None
    batch.sent, batch.failed = counts.get(SENT, 0), counts.get(FAILED, 0)
    batch.total = sum(counts.values())
    open_ = counts.get(QUEUED, 0) + counts.get(SENDING, 0)
    if batch.status != BATCH_PREPARING:
        if open_ == 0 and batch.status != BATCH_DONE:
            batch.status, batch.finished_at = BATCH_DONE, utcnow()
        elif open_ and batch.status == BATCH_DONE:
            batch.status, batch.finished_at = "sending", None
    return batch


def resend(shop: Shop, invitation: Invitation) -> InvitationBatch:
    """The merchant's explicit "Resend" of a failed invitation; one that went out never is."""
    if invitation.shop_id != shop.id:
        raise NotFound("invitation not found")
    if invitation.status == SENT:
        raise InvalidSelection(f"The invitation to {invitation.email} was already sent.")
    if invitation.status != FAILED:
        raise InvalidSelection("This invitation is already waiting to be sent.")
    batch = db.session.get(InvitationBatch, invitation.batch_id) if invitation.batch_id else None
    if batch is None or batch.shop_id != shop.id:
        batch = InvitationBatch(shop_id=shop.id, status="sending", started_at=utcnow())
        db.session.add(batch)
        db.session.flush()
    invitation.batch_id = batch.id
    invitation.status, invitation.attempts = QUEUED, 0
    invitation.error = invitation.next_attempt_at = invitation.claimed_at = None
    invitation.sent_at = None
    db.session.flush()
    refresh_batch(shop, batch.id)
    return batch


def resend_failed(shop: Shop, batch: InvitationBatch) -> int:
    """Queue every failed invitation of the batch again (after the merchant fixed the cause).

    Only failed ones: an invitation recorded as sent is never sent twice by a resend.
    """
    if batch.shop_id != shop.id:
        raise NotFound("batch not found")
    now = utcnow()
    count = db.session.execute(
        update(Invitation)
        .where(
            Invitation.shop_id == shop.id,
            Invitation.batch_id == batch.id,
            Invitation.status == FAILED,
        )
        .values(
            status=QUEUED,
            attempts=0,
            error=None,
            next_attempt_at=None,
            claimed_at=None,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    refresh_batch(shop, batch.id)
    return count


def fail_queued(shop: Shop, batch_id: int, reason: str) -> int:
    """Fail the batch's invitations still waiting, at once, when the mail server is down.

    Retrying each for minutes would only hide the outage; the batch page shows the reason
    and the merchant resends once the server is back.
    """
    return db.session.execute(
        update(Invitation)
        .where(
            Invitation.shop_id == shop.id,
            Invitation.batch_id == batch_id,
            Invitation.status == QUEUED,
        )
        .values(status=FAILED, error=reason, next_attempt_at=None, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount


def release_stale_claims(now: datetime | None = None) -> int:
    """Claims whose worker died: mark them failed for an explicit Resend, never re-send."""
    now = now or utcnow()
    return db.session.execute(
        update(Invitation)
        .where(Invitation.status == SENDING, Invitation.claimed_at < now - CLAIM_LEASE)
        .values(
            status=FAILED,
            error="Sending was interrupted; the email may or may not have gone out. Resend it.",
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
