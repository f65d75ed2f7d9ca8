"""The lists the invitations pages show: recent batches and the invitations that failed.

Here rather than in the views, so a view stays a lookup and a render, and every list is
scoped to the shop in one place.
"""

from __future__ import annotations

from sqlalchemy import select

from shopify_app.platform.extensions import db
from shopify_app.platform.models import Invitation, InvitationBatch, Shop
from shopify_app.platform.models.invitation import FAILED


def recent_batches(shop: Shop, limit: int = 20) -> list[InvitationBatch]:
    """The shop's latest batches, newest first."""
    return list(
        db.session.scalars(
            select(InvitationBatch)
            .where(InvitationBatch.shop_id == shop.id)
            .order_by(InvitationBatch.id.desc())
            .limit(limit)
        )
    )


def recent_failures(shop: Shop, limit: int = 50) -> list[Invitation]:
    """The shop's failed invitations, most recently failed first, each for a Resend button."""
    return list(
        db.session.scalars(
            select(Invitation)
            .where(Invitation.shop_id == shop.id, Invitation.status == FAILED)
            .order_by(Invitation.updated_at.desc())
            .limit(limit)
        )
    )


def batch_failures(shop: Shop, batch: InvitationBatch, limit: int = 100) -> list[Invitation]:
    """The batch's failed invitations, in the order they were queued."""
    return list(
        db.session.scalars(
            select(Invitation)
            .where(Invitation.shop_id == shop.id, Invitation.batch_id == batch.id)
            .where(Invitation.status == FAILED)
            .order_by(Invitation.id)
            .limit(limit)
        )
    )
