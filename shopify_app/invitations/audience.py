"""Blueprint "audience": target a segment from the program page, asking first.

`GET /program/audience` counts who joins and who is emailed; its form POSTs to enrol them.
Part of invitations, since enrolling a segment creates an invitation batch.
"""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request

from shopify_app.integrations.klaviyo.connection import klaviyo_sends_invitations
from shopify_app.invitations.batches import create_batch
from shopify_app.invitations.enrolment import audience_selection, plan_enrolment
from shopify_app.invitations.selection import SKIP_REASONS
from shopify_app.platform.auth.guards import shop_required
from shopify_app.platform.extensions import db
from shopify_app.platform.models import Segment
from shopify_app.platform.queue import enqueue
from shopify_app.platform.shops import get_for_shop_or_404
from shopify_app.platform.templating import admin_url
from shopify_app.program import config as program

bp = Blueprint("audience", __name__, url_prefix="/program/audience")


def _chosen_segment(values) -> Segment | None:
    segment_id = values.get("segment_id", "")
    if not segment_id.isdigit():
        flash("Choose a segment.", "warning")
        return None
    return get_for_shop_or_404(Segment, int(segment_id), g.shop)


@bp.get("")
@shop_required
def ask():
    """Ask first: who joins and who is emailed, counted now; the form POSTs to `enrol`."""
    segment = _chosen_segment(request.args)
    if segment is None:
        return redirect(admin_url("program.settings"))
    send = request.args.get("send_invitations") == "1"
    return render_template(
        "audience/enrol.html",
        segment=segment,
        plan=plan_enrolment(g.shop, segment, send=send),
        reasons=SKIP_REASONS,
        by_klaviyo=klaviyo_sends_invitations(g.shop),
    )


@bp.post("")
@shop_required
def enrol():
    """Target a segment: enrol its members and, if asked, invite them in one step; members
    who arrive later are enrolled (and invited, if asked) by `targeting.sweep_audiences`."""
    segment = _chosen_segment(request.form)
    if segment is None:
        return redirect(admin_url("program.settings"))
    send = request.form.get("send_invitations") == "1"
    program.set_audience(g.shop, segment, invite=send)
    batch = create_batch(g.shop, audience_selection(segment), send=send)
    db.session.commit()
    enqueue("shopify_app.invitations.jobs.prepare_batch", batch.id, job_id=f"prepare-{batch.id}")
    return redirect(admin_url("invitations.batch", batch_id=batch.id))
