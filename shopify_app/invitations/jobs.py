"""RQ entry points of the invitations, by dotted path: each opens the job's context, then sends.

`prepare_batch` picks who a batch invites and starts the senders; `send_batch` mails one part
of it; the worker's sweeper calls `sweep_invitations`. The work is in `sending`.
"""

from __future__ import annotations

from shopify_app.invitations import sending, targeting
from shopify_app.platform.models import InvitationBatch
from shopify_app.platform.queue import job_app_context


def prepare_batch(batch_id: int) -> str:
    """Choose who the batch invites, then queue its senders."""
    with job_app_context(owner=(InvitationBatch, batch_id)):
        return sending.prepare(batch_id)


def send_batch(batch_id: int) -> str:
    """Send the batch's waiting invitations, each outcome recorded as the server answers."""
    with job_app_context(owner=(InvitationBatch, batch_id)):
        return sending.send(batch_id)


def sweep_invitations() -> int:
    """Queue batches whose preparing or sending stopped (a dead worker, Redis down)."""
    with job_app_context():
        return sending.sweep()


def sweep_audiences() -> int:
    """Enrol (and invite, if chosen) members who joined an audience segment since it was set."""
    with job_app_context():
        return targeting.sweep_audiences()
