"""Blueprint "program": the referral program's settings and its audience segment."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request
from sqlalchemy import select

from shopify_app.platform.auth.guards import shop_required
from shopify_app.platform.extensions import db
from shopify_app.platform.models import Segment
from shopify_app.platform.templating import admin_url
from shopify_app.program import config as program

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
