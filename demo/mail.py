"""Blueprint "demo_mail": the emails the demo's local mail sink caught (demo mode only).

Registered only when DEMO_MODE is on, so a production app has no such page; it lets a
newcomer running `bin/run` see an invitation arrive without a mail server.
"""

from __future__ import annotations

from flask import Blueprint, current_app, g, render_template

from demo.caught_mail import caught_email, caught_emails
from demo.loyalty import demo_shopper
from shopify_app.platform.auth.guards import shop_required
from shopify_app.platform.errors import NotFound

bp = Blueprint("demo_mail", __name__, url_prefix="/demo/mail")


@bp.get("")
@shop_required
def index():
    folder = current_app.config["DEMO_MAIL_DIR"]
    return render_template(
        "demo_mail/index.html",
        emails=caught_emails(folder),
        folder=folder,
        shopper=demo_shopper(g.shop),
    )


@bp.get("/<name>")
@shop_required
def show(name: str):
    email = caught_email(current_app.config["DEMO_MAIL_DIR"], name)
    if email is None:
        raise NotFound("no such caught email")
    return render_template("demo_mail/show.html", email=email)
