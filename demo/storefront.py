"""Blueprint "demo_storefront": the demo's stand-in for the storefront and its app proxy.

In the demo there is no Shopify storefront to forward `/apps/referrals/…` to the app or to
render its Liquid, so this does both, on loopback only: it signs the query as Shopify does
(the app secret, `logged_in_customer_id` of the shopper picked on the caught-emails page),
sends the request to the app's own `/proxy/…` over HTTP, and shows a Liquid answer inside a
plain page. The app's pages print no Liquid of their own, so nothing is lost by not rendering it.
"""

from __future__ import annotations

import time

import requests
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
)
from markupsafe import Markup

from shopify_app.platform.auth.demo_tokens import DEMO_SHOP
from shopify_app.platform.auth.guards import is_demo_request, shop_required
from shopify_app.platform.shopify.signatures import proxy_signature

bp = Blueprint("demo_storefront", __name__)
PREFIX = "/apps/referrals"


@bp.get("/demo/storefront/sign-in/<int:shopify_customer_id>")
@shop_required
def sign_in(shopify_customer_id: int):
    """Browse the demo storefront as this shopper (a cookie, as Shopify's own sign-in)."""
    session["demo_shopper"] = shopify_customer_id
    return redirect(f"{PREFIX}/account")


@bp.route(f"{PREFIX}/<path:rest>", methods=["GET", "POST"])
def forward(rest: str):
    """Forward a storefront request through the app proxy, signed like Shopify signs it."""
    if not is_demo_request():
        abort(404)
    query = [(k, v) for k, v in request.args.items(multi=True) if k != "signature"]
    query += [
        ("shop", DEMO_SHOP),
        ("logged_in_customer_id", str(session.get("demo_shopper", ""))),
        ("path_prefix", PREFIX),
        ("timestamp", str(int(time.time()))),
    ]
    query.append(("signature", proxy_signature(query, current_app.config["SHOPIFY_API_SECRET"])))
    answer = requests.request(
        request.method,
        f"{current_app.config['SHOPIFY_APP_URL'].rstrip('/')}/proxy/{rest}",
        params=query,
        data=request.form if request.method == "POST" else None,
        allow_redirects=False,
        timeout=15,
    )
    if answer.is_redirect:
        return redirect(answer.headers["Location"], answer.status_code)
    if answer.headers.get("Content-Type", "").startswith("application/liquid"):
        body = Markup(answer.text)  # already escaped by the app for Liquid and HTML
        return render_template("demo_storefront/page.html", body=body), answer.status_code
    return Response(
        answer.content, answer.status_code, content_type=answer.headers.get("Content-Type")
    )
