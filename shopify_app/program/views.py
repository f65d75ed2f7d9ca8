"""Blueprint "program": the referral program's settings and its audience segment."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request
from sqlalchemy import select

from shopify_app.invitations.service import SKIP_REASONS, create_batch
from shopify_app.platform.auth.guards import shop_required
from shopify_app.platform.extensions import db
from shopify_app.platform.models import Segment
from shopify_app.platform.queue import enqueue
from shopify_app.platform.shops import get_for_shop_or_404
from shopify_app.platform.templating import admin_url
from shopify_app.program import config as program
from shopify_app.program import enrolment

bp = Blueprint("program", __name__, url_prefix="/program")


def _render(form=None, errors=None, status: int = 200):
    settings = program.get_settings(g.shop)
    segments = db.session.scalars(
        select(Segment).where(Segment.shop_id == g.shop.id).order_by(Segment.name)
    ).all()
    return render_template(
        "program/settings.html",
        values=form or program.form_values(g.shop, settings),
        errors=errors or {},
        segment_options=[(s.id, s.name) for s in segments],
        audience_id=settings.audience_segment_id,
        languages=program.EMAIL_LANGUAGES,
        language_names=program.LANGUAGE_NAMES,
        shop_language=program.shop_language(g.shop),
        placeholders=program.PLACEHOLDERS,
    ), status


@bp.route("", methods=["GET", "POST"])
@shop_required
def settings():
    """Offer, reward, minimum order and the invitation email; errors keep what was typed."""
    if request.method == "GET":
        return _render()
    try:
        program.update_settings(g.shop, request.form)
    except program.InvalidSettings as error:
        db.session.rollback()
        return _render(program.values_from_form(request.form), error.errors, 400)
    db.session.commit()
    flash("Program settings saved.", "success")
    return redirect(admin_url("program.settings"))


def _chosen_segment(values) -> Segment | None:
    segment_id = values.get("segment_id", "")
    if not segment_id.isdigit():
        flash("Choose a segment.", "warning")
        return None
    return get_for_shop_or_404(Segment, int(segment_id), g.shop)


@bp.get("/audience")
@shop_required
def ask_audience():
    """Ask first: who joins and who is emailed, counted now; the form POSTs to `audience`."""
    segment = _chosen_segment(request.args)
    if segment is None:
        return redirect(admin_url("program.settings"))
    send = request.args.get("send_invitations") == "1"
    return render_template(
        "program/enrol.html",
        segment=segment,
        plan=enrolment.plan_enrolment(g.shop, segment, send=send),
        reasons=SKIP_REASONS,
    )


@bp.post("/audience")
@shop_required
def audience():
    """Target a static segment: enrol its members and, if asked, invite them in one step."""
    segment = _chosen_segment(request.form)
    if segment is None:
        return redirect(admin_url("program.settings"))
    program.set_audience(g.shop, segment)
    send = request.form.get("send_invitations") == "1"
    batch = create_batch(g.shop, enrolment.audience_selection(segment), send=send)
    db.session.commit()
    enqueue("shopify_app.invitations.jobs.prepare_batch", batch.id, job_id=f"prepare-{batch.id}")
    return redirect(admin_url("invitations.batch", batch_id=batch.id))
