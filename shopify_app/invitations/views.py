"""Blueprint "invitations": the Invite dialog, sending, batch progress and explicit resends."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request

from shopify_app.integrations.klaviyo.connection import klaviyo_sends_invitations
from shopify_app.invitations import claims, queries
from shopify_app.invitations.batches import create_batch
from shopify_app.invitations.preview import preview_selection
from shopify_app.invitations.progress import batch_problems, batch_progress
from shopify_app.invitations.selection import SKIP_REASONS, InvalidSelection, parse_selection
from shopify_app.platform.auth.guards import shop_required
from shopify_app.platform.extensions import db
from shopify_app.platform.models import Invitation, InvitationBatch
from shopify_app.platform.queue import enqueue
from shopify_app.platform.shops import get_for_shop_or_404
from shopify_app.platform.templating import admin_url

bp = Blueprint("invitations", __name__, url_prefix="/invitations")


@bp.get("")
@shop_required
def index():
    """Recent batches and the invitations that failed, each with a Resend button."""
    return render_template(
        "invitations/index.html",
        batches=queries.recent_batches(g.shop),
        failed=queries.recent_failures(g.shop),
    )


@bp.get("/new")
@shop_required
def new():
    """The Invite dialog: who gets an invitation, who is skipped and why, the email."""
    try:
        selection = parse_selection(request.args)
        preview = preview_selection(g.shop, selection)
    except InvalidSelection as error:
        return render_template("invitations/new.html", error=str(error), preview=None), 400
    return render_template(
        "invitations/new.html",
        preview=preview,
        reasons=SKIP_REASONS,
        error=None,
        by_klaviyo=klaviyo_sends_invitations(g.shop),
    )


@bp.post("")
@shop_required
def create():
    """Send invitation: the batch is expanded and sent by workers; the page shows progress."""
    try:
        selection = parse_selection(request.form)
        batch = create_batch(g.shop, selection)
    except InvalidSelection as error:
        flash(str(error), "warning")
        return redirect(admin_url("invitations.index"))
    db.session.commit()
    enqueue("shopify_app.invitations.jobs.prepare_batch", batch.id, job_id=f"prepare-{batch.id}")
    return redirect(admin_url("invitations.batch", batch_id=batch.id))


@bp.get("/batches/<int:batch_id>")
@shop_required
def batch(batch_id: int):
    found = get_for_shop_or_404(InvitationBatch, batch_id, g.shop)
    problems = batch_problems(g.shop, found.id)
    return render_template(
        "invitations/batch.html",
        batch=found,
        state=batch_progress(found, problems),
        failed=queries.batch_failures(g.shop, found),
        reasons=SKIP_REASONS,
    )


@bp.get("/batches/<int:batch_id>/progress.json")
@shop_required
def progress(batch_id: int):
    """Polled by the batch page: counts and failure reasons while the batch sends."""
    found = get_for_shop_or_404(InvitationBatch, batch_id, g.shop)
    return batch_progress(found, batch_problems(g.shop, found.id))


@bp.post("/batches/<int:batch_id>/resend")
@shop_required
def resend_failed(batch_id: int):
    """Resend the batch's failed invitations (say, once the mail server is back)."""
    found = get_for_shop_or_404(InvitationBatch, batch_id, g.shop)
    count = claims.resend_failed(g.shop, found)
    db.session.commit()
    if count:
        enqueue(
            "shopify_app.invitations.jobs.send_batch", found.id, job_id=f"resend-batch-{found.id}"
        )
    flash(f"{count:,} failed invitation{'s' if count != 1 else ''} queued again.", "info")
    return redirect(admin_url("invitations.batch", batch_id=found.id))


@bp.post("/<int:invitation_id>/resend")
@shop_required
def resend(invitation_id: int):
    """The explicit Resend: the only way an invitation is sent a second time."""
    invitation = get_for_shop_or_404(Invitation, invitation_id, g.shop)
    try:
        batch = claims.resend(g.shop, invitation)
    except InvalidSelection as error:
        flash(str(error), "warning")
        return redirect(admin_url("invitations.index"))
    db.session.commit()
    enqueue("shopify_app.invitations.jobs.send_batch", batch.id, job_id=f"resend-{invitation.id}")
    flash(f"Invitation to {invitation.email} queued again.", "success")
    return redirect(admin_url("invitations.batch", batch_id=batch.id))
