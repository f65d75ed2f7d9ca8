"""A batch's progress as its page shows it and polls it: counts, failure reasons, a tone.

Derived only from the batch's stored counts and its invitations' errors, so the page tells
the same story whichever worker is sending, and a batch with failures never reads as a success.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from shopify_app.platform.extensions import db
from shopify_app.platform.models import Invitation, InvitationBatch, Shop
from shopify_app.platform.models.base import utcnow
from shopify_app.platform.models.invitation import BATCH_DONE, BATCH_PREPARING, FAILED, QUEUED


@dataclass(frozen=True)
class Problem:
    """A reason invitations of a batch did not go out (yet), and how many it concerns."""

    reason: str
    count: int
    #: queued again for a later attempt (a temporary failure) rather than failed.
    retrying: bool


def batch_problems(shop: Shop, batch_id: int, limit: int = 5) -> list[Problem]:
    """The batch's failure reasons, most frequent first, for the page while it sends."""
    rows = db.session.execute(
        select(Invitation.status, Invitation.error, func.count().label("n"))
        .where(
            Invitation.shop_id == shop.id,
            Invitation.batch_id == batch_id,
            Invitation.error.is_not(None),
            Invitation.status.in_((FAILED, QUEUED)),
        )
        .group_by(Invitation.status, Invitation.error)
        .order_by(func.count().desc(), Invitation.error)
        .limit(limit)
    ).all()
    return [Problem(error, n, status == QUEUED) for status, error, n in rows]


def batch_progress(batch: InvitationBatch, problems: Sequence[Problem] = ()) -> dict[str, Any]:
    """The JSON the batch page polls: counts, failure reasons as they happen, and a tone
    (a batch with failures is never shown as a success)."""
    done = batch.sent + batch.failed
    finished = batch.status == BATCH_DONE
    retrying = sum(p.count for p in problems if p.retrying)
    percent = None
    if batch.status != BATCH_PREPARING:
        percent = 100 * done / batch.total if batch.total else 100
    rate = None
    eta = None
    if batch.started_at is not None and done:
        end = batch.finished_at or utcnow()
        elapsed = max((end - batch.started_at).total_seconds(), 0.001)
        rate = round(done / elapsed, 1)
        if not finished and rate:
            eta = round((batch.total - done) / rate)
    if batch.status == BATCH_PREPARING:
        message = "Preparing the invitations…"
    elif finished:
        message = f"Done: {batch.sent:,} sent, {batch.failed:,} failed."
    else:
        message = f"Sending: {batch.sent:,} of {batch.total:,} sent"
        message += f", {batch.failed:,} failed" if batch.failed else ""
        message += f", {retrying:,} waiting to retry" if retrying else ""
        message += "."
    if batch.failed and not batch.sent and finished:
        tone = "critical"
    elif batch.failed or retrying:
        tone = "warning"
    else:
        tone = "success" if finished else "info"
    status = {"preparing": "Preparing", "sending": "Sending", "done": "Done"}.get(
        batch.status, batch.status.capitalize()
    )
    return {
        "status": "Done with failures" if finished and batch.failed else status,
        "percent": None if percent is None else round(percent, 1),
        "done": done,
        "total": batch.total,
        "unit": "invitations",
        "sent": batch.sent,
        "failed": batch.failed,
        "retrying": retrying,
        "failures": [
            {"reason": p.reason, "count": p.count, "retrying": p.retrying} for p in problems
        ],
        "tone": tone,
        "rate": rate,
        "eta_seconds": eta,
        "message": message,
        "finished": finished,
        "redirect": None,
    }
