"""Targeting: members who join the program's audience segment later are enrolled as they arrive.

The audience step (`audience.py`) enrols the members a segment has when the merchant targets
it; afterwards contacts imported into a static audience, and customers a dynamic audience
starts matching after webhooks or imports, are enrolled by the worker's sweep
(`sweep_audiences`, every interval) and invited when the merchant chose to. Each is enrolled
from the segment once: `segment_enrolments` is keyed on (segment, customer), and only
customers not joined yet are picked, so running the sweep again changes nothing.
"""

from __future__ import annotations

from sqlalchemy import exists, select

from shopify_app.invitations.batches import create_batch
from shopify_app.invitations.selection import MAX_EXPLICIT_IDS, Selection
from shopify_app.platform.extensions import db
from shopify_app.platform.models import Customer, ProgramSettings, SegmentEnrolment, Shop
from shopify_app.platform.queue import enqueue_after_commit
from shopify_app.program import config as program
from shopify_app.segments.enrolments import record_enrolments
from shopify_app.segments.store import find_segment, member_ids


def enrol_arrivals(shop: Shop, limit: int = MAX_EXPLICIT_IDS) -> int:
    """Enrol (and invite, if chosen) up to `limit` audience members not joined yet.

    Returns how many joined; the caller commits (the invitation batch is queued on commit).
    """
    settings = db.session.get(ProgramSettings, shop.id)
    if settings is None or settings.audience_segment_id is None:
        return 0
    segment = find_segment(shop, settings.audience_segment_id)
    if segment is None:
        return 0
    noted = exists().where(
        SegmentEnrolment.segment_id == segment.id,
        SegmentEnrolment.customer_id == Customer.id,
    )
    ids = list(
        db.session.execute(
            select(Customer.id)
            .where(
                program.joinable(shop),
                Customer.id.in_(member_ids(shop, segment).scalar_subquery()),
                ~noted,
            )
            .order_by(Customer.id)
            .limit(limit)
        ).scalars()
    )
    if not ids:
        return 0
    joined = program.join_customers(shop, ids)
    record_enrolments(shop, segment.id, ids)
    if settings.audience_invites:
        batch = create_batch(shop, Selection(customer_ids=tuple(ids), enrol=True), send=True)
        enqueue_after_commit(
            "shopify_app.invitations.jobs.prepare_batch", batch.id, job_id=f"prepare-{batch.id}"
        )
    return joined


def audience_shops() -> list[Shop]:
    """Installed shops whose program has an audience segment (the sweep's cross-shop read)."""
    shops = db.session.execute(
        select(Shop)
        .join(ProgramSettings, ProgramSettings.shop_id == Shop.id)
        .where(ProgramSettings.audience_segment_id.is_not(None), Shop.uninstalled_at.is_(None))
        .order_by(Shop.id)
    ).scalars()
    return [shop for shop in shops if shop.is_installed]


def sweep_audiences() -> int:
    """Enrol every audience's new members, shop by shop, committing each; returns how many."""
    total = 0
    for shop in audience_shops():
        while True:
            joined = enrol_arrivals(shop)
            db.session.commit()
            total += joined
            if joined < MAX_EXPLICIT_IDS:
                break
    return total
