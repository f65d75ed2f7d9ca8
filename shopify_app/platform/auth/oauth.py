"""The OAuth install: authorize URL with a one-time state, and the callback's checks."""

from __future__ import annotations

import base64
import binascii
import secrets
import time
from collections.abc import Iterable
from datetime import timedelta
from urllib.parse import urlencode

from flask import current_app
from sqlalchemy import update

from shopify_app.platform.auth.shop_domain import normalize_shop_domain
from shopify_app.platform.errors import InvalidOAuthCallback, InvalidShopDomain
from shopify_app.platform.extensions import db
from shopify_app.platform.models import OAuthState
from shopify_app.platform.models.base import utcnow
from shopify_app.platform.shopify.signatures import verify_oauth_query
from shopify_app.platform.shopify.tokens import shop_base_url

STATE_TTL = timedelta(minutes=10)
#: how old a callback's `timestamp` may be; Shopify signs it when the merchant approves.
CALLBACK_MAX_AGE_SECONDS = 600
ADMIN_HOSTS = ("admin.shopify.com",)


def create_state(shop_domain: str) -> str:
    """A random one-time state recorded for this shop; the caller commits."""
    nonce = secrets.token_urlsafe(32)
    db.session.add(OAuthState(nonce=nonce, shop_domain=shop_domain))
    return nonce


def authorize_url(shop_domain: str, state: str) -> str:
    config = current_app.config
    query = urlencode(
        {
            "client_id": config["SHOPIFY_API_KEY"],
            "scope": config["SHOPIFY_SCOPES"],
            "redirect_uri": f"{config['SHOPIFY_APP_URL']}/auth/callback",
            "state": state,
        }
    )
    return f"{shop_base_url(shop_domain)}/admin/oauth/authorize?{query}"


def verify_callback(params: Iterable[tuple[str, str]], cookie_state: str | None) -> str:
    """Check a callback's HMAC, shop, timestamp and one-time state; return the shop domain.

    The HMAC is ShopifyAPI's (Session.validate_hmac); its validate_params would let a
    day-old timestamp and any shop through, hence the checks here. The state is consumed
    with a conditional UPDATE, so two concurrent replays cannot both pass. Raises
    InvalidOAuthCallback; nothing is stored on failure.
    """
    params = list(params)
    query = dict(params)
    if not verify_oauth_query(params, current_app.config["SHOPIFY_API_SECRET"]):
        raise InvalidOAuthCallback("The request's signature is invalid.")
    try:
        shop_domain = normalize_shop_domain(query.get("shop"))
    except InvalidShopDomain as error:
        raise InvalidOAuthCallback(str(error)) from error
    try:
        timestamp = int(query.get("timestamp", ""))
    except ValueError as error:
        raise InvalidOAuthCallback("The request has no valid timestamp.") from error
    if abs(time.time() - timestamp) > CALLBACK_MAX_AGE_SECONDS:
        raise InvalidOAuthCallback("The request is too old; start the installation again.")
    state = query.get("state") or ""
    if not state or not cookie_state or not secrets.compare_digest(state, cookie_state):
        raise InvalidOAuthCallback("The state does not match this browser's installation.")
    consumed = db.session.execute(
        update(OAuthState)
        .where(
            OAuthState.nonce == state,
            OAuthState.shop_domain == shop_domain,
            OAuthState.used_at.is_(None),
            OAuthState.created_at > utcnow() - STATE_TTL,
        )
        .values(used_at=utcnow())
    ).rowcount
    if consumed != 1:
        raise InvalidOAuthCallback("The state is unknown, expired or already used.")
    return shop_domain


def admin_host(host_param: str | None) -> str | None:
    """The decoded `host` if it names a Shopify admin, else None: never a redirect target."""
    if not host_param:
        return None
    try:
        padded = host_param + "=" * (-len(host_param) % 4)
        decoded = base64.urlsafe_b64decode(padded.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    hostname = decoded.split("/", 1)[0]
    if hostname in ADMIN_HOSTS:
        return decoded
    if hostname.endswith(".myshopify.com"):
        try:
            normalize_shop_domain(hostname)
        except InvalidShopDomain:
            return None
        return decoded
    return None


def embedded_app_url(shop_domain: str, host_param: str | None) -> str:
    """Where to land after install: the app inside the Shopify admin."""
    api_key = current_app.config["SHOPIFY_API_KEY"]
    host = admin_host(host_param)
    if host:
        return f"https://{host}/apps/{api_key}"
    handle = shop_domain.removesuffix(".myshopify.com")
    return f"https://admin.shopify.com/store/{handle}/apps/{api_key}"
