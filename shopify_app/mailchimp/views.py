"""Blueprint "mailchimp": connect an account (OAuth), pick audiences, watch them being read."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request

from shopify_app.mailchimp import connection, fetching, pages
from shopify_app.mailchimp.client import MailchimpError, MailchimpUnauthorized
from shopify_app.mailchimp.forms import FetchForm
from shopify_app.mailchimp.runs import queue_fetch
from shopify_app.platform.auth.guards import is_demo_request, shop_required
from shopify_app.platform.extensions import db
from shopify_app.platform.models import MailchimpFetch
from shopify_app.platform.models.base import utcnow
from shopify_app.platform.models.mailchimp import FETCH_INTERRUPTED
from shopify_app.platform.shops import get_for_shop_or_404
from shopify_app.platform.templating import admin_url
from shopify_app.segments.store import InvalidSegmentName

bp = Blueprint("mailchimp", __name__, url_prefix="/mailchimp")
NONCE_COOKIE = "mailchimp_oauth_nonce"


@bp.get("")
@shop_required
def index():
    """The account, its audiences to pick from, and the recent reads."""
    data = pages.index_page(g.shop)
    db.session.commit()  # a 401 while listing marks the connection broken
    return render_template("mailchimp/index.html", **data)


@bp.post("/connect")
@shop_required
def connect():
    """Reached at the top level (the form targets `_top`): off to Mailchimp's consent page."""
    if not connection.configured():
        flash("Mailchimp is not set up for this app (MAILCHIMP_CLIENT_ID).", "critical")
        return redirect(admin_url("mailchimp.index"))
    url, nonce = connection.start_connect(g.shop, request.args.get("host"))
    response = redirect(url)
    response.set_cookie(
        NONCE_COOKIE,
        nonce,
        max_age=connection.STATE_MAX_AGE,
        httponly=True,
        secure=request.is_secure,
        samesite="Lax",
        path="/mailchimp",
    )
    return response


@bp.get("/callback")
def callback():
    """Mailchimp sends the merchant back here: check the state, store the token, go home."""
    try:
        state = connection.verify_state(
            request.args.get("state", ""), request.cookies.get(NONCE_COOKIE)
        )
        shop = pages.shop_of_state(state)
        if request.args.get("error") or not request.args.get("code"):
            raise MailchimpError("Mailchimp access was not allowed, so nothing was connected.")
        connection.finish_connect(shop, request.args["code"])
    except (connection.InvalidMailchimpCallback, MailchimpError) as error:
        db.session.rollback()
        page = render_template("mailchimp/refused.html", message=str(error))
        return page, 400
    db.session.commit()
    target = pages.landing_url(shop, state.get("host"), demo=is_demo_request())
    response = redirect(target)
    response.delete_cookie(NONCE_COOKIE, path="/mailchimp")
    return response


@bp.get("/disconnect")
@shop_required
def ask_disconnect():
    """Ask first: the token goes; imported contacts and segments stay."""
    found = connection.find_connection(g.shop)
    return render_template("mailchimp/disconnect.html", connection=found)


@bp.post("/disconnect")
@shop_required
def disconnect():
    if connection.disconnect(g.shop):
        flash("Mailchimp is disconnected. Imported contacts and segments stay.", "info")
    db.session.commit()
    return redirect(admin_url("imports.index"))


@bp.post("/fetches")
@shop_required
def start():
    """Check the chosen audiences with Mailchimp, record the read, queue it."""
    form = FetchForm(request.form)
    if not form.validate():
        flash(next(iter(form.field_errors().values())), "critical")
        return redirect(admin_url("mailchimp.index"))
    try:
        fetch = pages.start(g.shop, form)
    except (MailchimpError, connection.NotConnected, InvalidSegmentName) as error:
        db.session.rollback()
        if isinstance(error, MailchimpUnauthorized):
            connection.mark_broken(g.shop)
            db.session.commit()
        flash(str(error), "critical")
        return redirect(admin_url("mailchimp.index"))
    db.session.commit()
    queue_fetch(fetch.id, fetch.attempts)
    return redirect(admin_url("mailchimp.show", fetch_id=fetch.id))


@bp.get("/fetches/<int:fetch_id>")
@shop_required
def show(fetch_id: int):
    fetch = get_for_shop_or_404(MailchimpFetch, fetch_id, g.shop)
    return render_template("mailchimp/fetch.html", fetch=fetch, progress=fetching.progress(fetch))


@bp.get("/fetches/<int:fetch_id>/progress.json")
@shop_required
def progress(fetch_id: int):
    data = fetching.progress(get_for_shop_or_404(MailchimpFetch, fetch_id, g.shop))
    if data["finished"]:
        data["redirect"] = admin_url("mailchimp.show", fetch_id=fetch_id)
    return data


@bp.post("/fetches/<int:fetch_id>/resume")
@shop_required
def resume(fetch_id: int):
    """Resume an interrupted read now rather than at the sweep's next try."""
    fetch = get_for_shop_or_404(MailchimpFetch, fetch_id, g.shop)
    if fetch.status == FETCH_INTERRUPTED:
        queue_fetch(fetch.id, f"resume-{utcnow():%Y%m%d%H%M%S%f}")
    return redirect(admin_url("mailchimp.show", fetch_id=fetch_id))
