"""Blueprint "klaviyo": the Program page's Klaviyo section (connect, who invites, disconnect).

Its own module so the page's other forms and this section change apart; errors render the
whole Program page with the Klaviyo field marked and nothing stored.
"""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request

from shopify_app.integrations.klaviyo import connection as klaviyo
from shopify_app.integrations.klaviyo.client import (
    KeyRefused,
    KlaviyoError,
    RateLimited,
    ScopeMissing,
)
from shopify_app.integrations.klaviyo.forms import KLAVIYO, KeyForm, SenderForm
from shopify_app.integrations.klaviyo.runs import request_sync
from shopify_app.platform.auth.guards import shop_required
from shopify_app.platform.extensions import db
from shopify_app.platform.templating import admin_url
from shopify_app.program.views import render_settings

bp = Blueprint("klaviyo", __name__, url_prefix="/program/klaviyo")


@bp.post("")
@shop_required
def connect():
    """Check the pasted key with Klaviyo, store it encrypted and start the backfill."""
    form = KeyForm(request.form)
    if not form.validate():
        return render_settings(klaviyo_error=form.field_errors()["api_key"], status=400)
    try:
        klaviyo.connect(g.shop, form.api_key.data)
    except (KeyRefused, ScopeMissing) as error:
        db.session.rollback()
        message = error.message
        if isinstance(error, KeyRefused):
            message = "Klaviyo did not accept this key. Copy the private key again from Klaviyo."
        return render_settings(klaviyo_error=message, status=400)
    except KlaviyoError as error:
        db.session.rollback()
        busy = isinstance(error, RateLimited)
        return render_settings(
            klaviyo_error="Klaviyo is busy and asked us to wait. Try again in a minute."
            if busy
            else "Klaviyo could not be reached to check the key. Try again in a moment.",
            status=503,
        )
    request_sync(g.shop)
    db.session.commit()
    flash("Klaviyo connected. Enrolled customers are being sent to Klaviyo.", "success")
    return redirect(admin_url("program.settings"))


@bp.post("/invitations")
@shop_required
def invitations():
    form = SenderForm(request.form)
    if not form.validate() or not klaviyo.set_sends_invitations(
        g.shop, form.invitations_by.data == KLAVIYO
    ):
        return render_settings(klaviyo_error="Connect Klaviyo first.", status=400)
    db.session.commit()
    by_klaviyo = form.invitations_by.data == KLAVIYO
    flash(
        "A Klaviyo flow sends the invitations now; the app sends none."
        if by_klaviyo
        else "The app sends the invitations now.",
        "success",
    )
    return redirect(admin_url("program.settings"))


@bp.get("/disconnect")
@shop_required
def ask_disconnect():
    """Ask first: the key goes and Klaviyo stops receiving updates; the form POSTs below."""
    return render_template("klaviyo/disconnect.html", klaviyo=klaviyo.status(g.shop))


@bp.post("/disconnect")
@shop_required
def disconnect():
    klaviyo.disconnect(g.shop)
    db.session.commit()
    flash("Klaviyo disconnected; its key is deleted. The app sends the invitations.", "info")
    return redirect(admin_url("program.settings"))
