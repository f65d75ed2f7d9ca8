"""Blueprint "home": the embedded app's landing page with the shop's status."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from shopify_app.customers.sync import start_sync
from shopify_app.customers.sync_jobs import queue_initial_sync
from shopify_app.home.status import shop_status
from shopify_app.platform.auth.guards import load_shop_session
from shopify_app.platform.auth.shop_domain import normalize_shop_domain
from shopify_app.platform.extensions import db
from shopify_app.platform.shops import get_shop
from shopify_app.platform.templating import admin_url

bp = Blueprint("home", __name__)


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
    return render_template("home/index.html", status=shop_status(g.shop))


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
