"""Blueprint "program": the referral program's settings and its audience segment."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request

from shopify_app.integrations.klaviyo import connection as klaviyo
from shopify_app.platform.auth.guards import shop_required
from shopify_app.platform.extensions import db
from shopify_app.platform.templating import admin_url
from shopify_app.program import config as program
from shopify_app.program.forms import SettingsForm, SettingsFormValues, stored_values
from shopify_app.segments.store import segment_choices

bp = Blueprint("program", __name__, url_prefix="/program")


def render_settings(
    values: SettingsFormValues | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
    *,
    klaviyo_error: str | None = None,
):
    """The Program page; `klaviyo_error` marks the Klaviyo section's key field."""
    settings = program.get_settings(g.shop)
    return render_template(
        "program/settings.html",
        values=values or stored_values(g.shop, settings),
        errors=errors or {},
        segment_options=segment_choices(g.shop),
        audience_id=settings.audience_segment_id,
        languages=program.EMAIL_LANGUAGES,
        language_names=program.LANGUAGE_NAMES,
        shop_language=program.shop_language(g.shop),
        placeholders=program.PLACEHOLDERS,
        klaviyo=klaviyo.status(g.shop),
        klaviyo_error=klaviyo_error,
    ), status


@bp.route("", methods=["GET", "POST"])
@shop_required
def settings():
    """Offer, reward, minimum order and the invitation email; errors keep what was typed."""
    if request.method == "GET":
        return render_settings()
    form = SettingsForm(request.form, currency=g.shop.currency)
    if not form.validate():
        return render_settings(form.shown(), form.field_errors(), 400)
    program.apply_settings(g.shop, form.changes())
    db.session.commit()
    flash("Program settings saved.", "success")
    return redirect(admin_url("program.settings"))
