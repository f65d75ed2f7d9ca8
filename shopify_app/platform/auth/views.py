"""Blueprint "auth": the OAuth install and Shopify's session-token bounce page."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request

from shopify_app.platform.auth import oauth
from shopify_app.platform.auth.shop_domain import normalize_shop_domain
from shopify_app.platform.extensions import db
from shopify_app.platform.shopify.signatures import multidict_items
from shopify_app.platform.shopify.tokens import exchange_code
from shopify_app.platform.shops import announce_installed, install_shop

bp = Blueprint("auth", __name__)
STATE_COOKIE = "shopify_oauth_state"


@bp.get("/auth")
def install():
    """Start the OAuth install at top level: record a one-time state and go to Shopify."""
    shop_domain = normalize_shop_domain(request.args.get("shop"))
    state = oauth.create_state(shop_domain)
    db.session.commit()
    response = redirect(oauth.authorize_url(shop_domain, state))
    response.set_cookie(
        STATE_COOKIE,
        state,
        max_age=int(oauth.STATE_TTL.total_seconds()),
        httponly=True,
        secure=request.is_secure,
        samesite="Lax",
        path="/auth",
    )
    return response


@bp.get("/auth/callback")
def callback():
    """Verify Shopify's callback, exchange the code, store the token, land in the admin."""
    shop_domain = oauth.verify_callback(
        multidict_items(request.args), request.cookies.get(STATE_COOKIE)
    )
    grant = exchange_code(shop_domain, request.args.get("code", ""))
    shop = install_shop(shop_domain, grant)
    db.session.commit()
    announce_installed(shop)
    response = redirect(oauth.embedded_app_url(shop_domain, request.args.get("host")))
    response.delete_cookie(STATE_COOKIE, path="/auth")
    return response


@bp.get("/auth/session-token")
def session_token_bounce():
    """Shopify's bounce page: App Bridge fetches a session token and reloads `shopify-reload`."""
    return render_template("auth/bounce.html", api_key=current_app.config["SHOPIFY_API_KEY"])
