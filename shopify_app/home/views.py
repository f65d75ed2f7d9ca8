"""Blueprint "home": the setup guide, this month's figures and the shop's status."""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)

from shopify_app.customers.sync import start_sync
from shopify_app.customers.sync_jobs import queue_initial_sync
from shopify_app.home.checklist import checklist, record_storefront_check, set_dismissed
from shopify_app.home.forms import TestEmailForm
from shopify_app.home.status import shop_status
from shopify_app.home.test_email import TestEmailFailed, render_test_email, send_test_email
from shopify_app.metrics.month import this_month
from shopify_app.platform.auth.guards import load_shop_session, shop_required
from shopify_app.platform.auth.shop_domain import normalize_shop_domain
from shopify_app.platform.extensions import db
from shopify_app.platform.shops import get_shop
from shopify_app.platform.templating import admin_url

bp = Blueprint("home", __name__)
#: the storefront page the guide opens: the shopper's account page through the app proxy.
STOREFRONT_PATH = "/apps/referrals/account"


@bp.get("/")
def index():
    """Embedded home. A top-level visit for a shop not installed starts OAuth instead."""
    if (
        request.args.get("shop")
        and request.args.get("embedded") != "1"
        and not (request.args.get("id_token") or request.headers.get("Authorization"))
    ):
        shop = get_shop(normalize_shop_domain(request.args["shop"]))
        if shop is None or not shop.is_installed:
            return redirect(url_for("auth.install", shop=request.args["shop"]))
    load_shop_session()
    return render_template(
        "home/index.html",
        status=shop_status(g.shop),
        guide=checklist(g.shop),
        month=this_month(g.shop),
        storefront_url=storefront_url(),
    )


@bp.get("/status.json")
def status_json():
    """Polled by the home page while the initial sync runs."""
    load_shop_session()
    return shop_status(g.shop).as_json()


@bp.post("/sync")
def resync():
    """The merchant's "Resync customers": start the sync again from the first page."""
    load_shop_session()
    start_sync(g.shop, restart=True)
    db.session.commit()
    queue_initial_sync(g.shop)
    flash("Customer sync started.", "info")
    return redirect(admin_url("home.index"))


def _test_email_page(form: TestEmailForm, error: str | None = None, status: int = 200):
    address = form.email.data or g.shop.email or "you@example.com"
    return render_template(
        "home/test_email.html",
        form=form,
        error=error or form.field_errors().get("email"),
        email=render_test_email(g.shop, address),
    ), status


@bp.route("/setup/test-email", methods=["GET", "POST"])
@shop_required
def test_email():
    """The invitation as customers get it, and "Send me a test email" to any address."""
    if request.method == "GET":
        return _test_email_page(TestEmailForm({"email": g.shop.email or ""}))
    form = TestEmailForm(request.form)
    if not form.validate():
        return _test_email_page(form, status=400)
    try:
        sent_to = send_test_email(g.shop, form.email.data)
    except TestEmailFailed as failure:
        db.session.commit()  # the try counts against the hourly limit
        return _test_email_page(form, failure.reason, 502)
    db.session.commit()
    flash(f"Test email sent to {sent_to}. Check your inbox.", "success")
    return redirect(admin_url("home.index"))


def storefront_url() -> str:
    """The shopper's account page in the store; the demo serves its own storefront."""
    if "demo_storefront.forward" in current_app.view_functions:
        return STOREFRONT_PATH
    return f"https://{g.shop.domain}{STOREFRONT_PATH}"


@bp.post("/setup/storefront")
@shop_required
def storefront():
    """The merchant's "I checked it" after opening the storefront page (a public link)."""
    record_storefront_check(g.shop)
    db.session.commit()
    flash("Storefront page checked.", "success")
    return redirect(admin_url("home.index"))


@bp.post("/setup/guide")
@shop_required
def guide():
    """Hide the setup guide or bring it back; remembered for the shop."""
    set_dismissed(g.shop, request.form.get("action") == "dismiss")
    db.session.commit()
    return redirect(admin_url("home.index"))
