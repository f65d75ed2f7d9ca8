"""OAuth as Shopify runs it for one app: authorize redirect, code grant, token exchange, refresh.

The merchant approves at once, so an install is one redirect; everything an app must check (the
callback HMAC, single-use codes, expiring tokens and rotating refresh tokens) behaves as in
production.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, jsonify, redirect, request

from .session_tokens import InvalidSessionToken, verify_session_token
from .state import AccessToken, AuthorizationCode, RefreshToken, Shop

if TYPE_CHECKING:
    from .server import ShopifyDouble

bp = Blueprint("oauth", __name__)

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ID_TOKEN = "urn:ietf:params:oauth:token-type:id_token"
OFFLINE_TOKEN = "urn:shopify:params:oauth:token-type:offline-access-token"
ONLINE_TOKEN = "urn:shopify:params:oauth:token-type:online-access-token"
CODE_LIFETIME = timedelta(minutes=10)


def oauth_hmac(params: Mapping[str, str], secret: str) -> str:
    """Hex HMAC-SHA256 of the params other than `hmac`, sorted and joined `k=v&k=v`."""
    message = "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k not in ("hmac",))
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def host_param(shop: Shop) -> str:
    """The `host` parameter: base64url of the admin URL, without padding."""
    raw = f"admin.shopify.com/store/{shop.handle}".encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def find_access_token(double: ShopifyDouble, shop: str, token: str | None) -> AccessToken | None:
    """The valid access token for that shop, or None (→ 401)."""
    if not token:
        return None
    with double.store.lock:
        access = double.store.access_tokens.get(token)
        if access is None or access.shop != shop or not access.valid(datetime.now(UTC)):
            return None
        return access


def issue_tokens(
    double: ShopifyDouble, shop: Shop, scope: str, *, expiring: bool, user_id: int | None = None
) -> dict[str, Any]:
    """Mint an access token (and a refresh token when expiring) and return the token response."""
    store = double.store
    now = datetime.now(UTC)
    online = user_id is not None
    ttl = double.access_token_ttl
    token = ("shpua_" if online else "shpat_") + secrets.token_hex(16)
    expires_at = now + timedelta(seconds=ttl) if expiring or online else None
    with store.lock:
        store.access_tokens[token] = AccessToken(token, shop.domain, scope, expires_at, online)
        shop.installed = True
        body: dict[str, Any] = {"access_token": token, "scope": scope}
        if online:
            body["expires_in"] = ttl
            body["associated_user_scope"] = scope
            body["associated_user"] = {
                "id": user_id,
                "first_name": "Staff",
                "last_name": f"Member {user_id}",
                "email": f"staff{user_id}@{shop.handle}.example",
                "email_verified": True,
                "account_owner": user_id == 1,
                "locale": shop.locale,
                "collaborator": False,
            }
        elif expiring:
            refresh = "shprt_" + secrets.token_hex(16)
            refresh_ttl = double.refresh_token_ttl
            store.refresh_tokens[refresh] = RefreshToken(
                refresh, shop.domain, scope, now + timedelta(seconds=refresh_ttl)
            )
            body["expires_in"] = ttl
            body["refresh_token"] = refresh
            body["refresh_token_expires_in"] = refresh_ttl
    return body


def _double() -> ShopifyDouble:
    return current_app.extensions["shopify_double"]


def _oauth_error(status: int, error: str, description: str) -> tuple[Response, int]:
    return jsonify({"error": error, "error_description": description}), status


def _params() -> dict[str, Any]:
    """Token requests arrive as a form, as JSON, or in the query string; Shopify takes all three."""
    params: dict[str, Any] = dict(request.args.items())
    params.update(request.form.items())
    if request.is_json:
        body = request.get_json(silent=True)
        if isinstance(body, dict):
            params.update(body)
    return params


def _flag(value: Any) -> bool:
    return str(value).lower() in ("1", "true")


@bp.get("/<shop>/admin/oauth/authorize")
def authorize(shop: str) -> Any:
    double = _double()
    with double.store.lock:
        shop_obj = double.store.shops.get(shop)
    if shop_obj is None:
        return "There's nothing here", 404
    args = request.args
    if args.get("client_id") != double.api_key:
        return "Oauth error invalid_request: The client_id provided is invalid", 400
    redirect_uri = args.get("redirect_uri", "")
    if not redirect_uri or not redirect_uri.startswith(double.app_url):
        return "Oauth error invalid_request: The redirect_uri is not whitelisted", 400
    scope = args.get("scope") or double.scopes
    code = secrets.token_hex(16)
    with double.store.lock:
        double.store.codes[code] = AuthorizationCode(
            code=code,
            shop=shop,
            scope=scope,
            online="per-user" in args.getlist("grant_options[]"),
            expires_at=datetime.now(UTC) + CODE_LIFETIME,
        )
    params = {
        "code": code,
        "host": host_param(shop_obj),
        "shop": shop,
        "timestamp": str(int(time.time())),
    }
    if "state" in args:
        params["state"] = args["state"]
    params["hmac"] = oauth_hmac(params, double.api_secret)
    separator = "&" if "?" in redirect_uri else "?"
    return redirect(redirect_uri + separator + urlencode(params), 302)


@bp.post("/<shop>/admin/oauth/access_token")
def access_token(shop: str) -> Any:
    double = _double()
    with double.store.lock:
        shop_obj = double.store.shops.get(shop)
    if shop_obj is None:
        return "There's nothing here", 404
    params = _params()
    grant_type = params.get("grant_type") or "authorization_code"
    response = _grant(double, shop_obj, grant_type, params)
    with double.store.lock:
        double.token_requests.append(
            {
                "shop": shop,
                "grant_type": grant_type,
                "expiring": _flag(params.get("expiring")),
                "status": response[1],
            }
        )
    return response


def _grant(
    double: ShopifyDouble, shop: Shop, grant_type: str, params: dict[str, Any]
) -> tuple[Response, int]:
    if params.get("client_id") != double.api_key or not hmac.compare_digest(
        str(params.get("client_secret", "")), double.api_secret
    ):
        return _oauth_error(401, "invalid_client", "Client authentication failed")
    if grant_type == "authorization_code":
        return _code_grant(double, shop, params)
    if grant_type == TOKEN_EXCHANGE:
        return _token_exchange(double, shop, params)
    if grant_type == "refresh_token":
        return _refresh(double, shop, params)
    return _oauth_error(400, "unsupported_grant_type", f"Grant type {grant_type} is not supported")


def _code_grant(double: ShopifyDouble, shop: Shop, params: dict[str, Any]) -> tuple[Response, int]:
    store = double.store
    with store.lock:
        code = store.codes.get(str(params.get("code", "")))
        usable = (
            code is not None
            and code.shop == shop.domain
            and not code.used
            and datetime.now(UTC) < code.expires_at
        )
        if not usable:
            return _oauth_error(
                400, "invalid_request", "The authorization code was not found or was already used"
            )
        code.used = True
    user_id = 1 if code.online else None
    body = issue_tokens(
        double, shop, code.scope, expiring=_flag(params.get("expiring")), user_id=user_id
    )
    return jsonify(body), 200


def _token_exchange(
    double: ShopifyDouble, shop: Shop, params: dict[str, Any]
) -> tuple[Response, int]:
    if params.get("subject_token_type") != ID_TOKEN:
        return _oauth_error(400, "invalid_request", "subject_token_type must be an id_token")
    requested = params.get("requested_token_type")
    if requested not in (OFFLINE_TOKEN, ONLINE_TOKEN):
        return _oauth_error(400, "invalid_request", "requested_token_type is not supported")
    try:
        claims = verify_session_token(
            str(params.get("subject_token", "")),
            api_key=double.api_key,
            api_secret=double.api_secret,
            shop=shop.domain,
        )
    except InvalidSessionToken as exc:
        return _oauth_error(400, "invalid_subject_token", str(exc))
    user_id = int(claims["sub"]) if requested == ONLINE_TOKEN else None
    body = issue_tokens(
        double, shop, double.scopes, expiring=_flag(params.get("expiring")), user_id=user_id
    )
    return jsonify(body), 200


def _refresh(double: ShopifyDouble, shop: Shop, params: dict[str, Any]) -> tuple[Response, int]:
    store = double.store
    with store.lock:
        refresh = store.refresh_tokens.get(str(params.get("refresh_token", "")))
        if refresh is None or refresh.shop != shop.domain or not refresh.valid(datetime.now(UTC)):
            return _oauth_error(400, "invalid_grant", "The refresh token is invalid or expired")
        refresh.used = True
    return jsonify(issue_tokens(double, shop, refresh.scope, expiring=True)), 200
