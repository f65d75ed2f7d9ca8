"""Guards named for what they ensure: a verified session, and framing by the admin only."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlencode

from flask import Flask, Response, current_app, g, redirect, render_template, request, url_for
from sqlalchemy.exc import SQLAlchemyError

from shopify_app.platform.auth.demo_tokens import demo_reload_url
from shopify_app.platform.auth.session_token import SessionToken, decode_session_token
from shopify_app.platform.auth.shop_domain import normalize_shop_domain
from shopify_app.platform.errors import (
    InvalidSessionToken,
    InvalidShopDomain,
    ShopifyAuthError,
    ShopMismatch,
)
from shopify_app.platform.extensions import db
from shopify_app.platform.negotiation import wants_json
from shopify_app.platform.shopify.tokens import exchange_session_token
from shopify_app.platform.shops import announce_installed, get_shop, install_shop
from shopify_app.platform.tenancy import enter_shop

F = TypeVar("F", bound=Callable[..., Any])
CREDENTIALS_REFUSED = (
    "Shopify didn't accept this app's credentials, so nothing could be loaded. "
    "This is a problem on our side: please contact us and we'll fix it."
)
RETRY_HEADER = "X-Shopify-Retry-Invalid-Session-Request"


def _raw_token() -> str | None:
    """The session token: the Authorization header, `?id_token=`, or a urlencoded form field.

    A multipart body (a CSV upload) is never parsed to look for it: authentication comes
    before a body is read, so the upload form carries its token in the action URL.
    """
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return header.removeprefix("Bearer ").strip() or None
    if request.args.get("id_token"):
        return request.args["id_token"]
    if request.mimetype == "application/x-www-form-urlencoded":
        return request.form.get("id_token") or None
    return None


def verify_request_session() -> SessionToken:
    """Verify the request's session token and that any `?shop=` agrees with it."""
    raw = _raw_token()
    if not raw:
        raise InvalidSessionToken("missing session token")
    config = current_app.config
    token = decode_session_token(
        raw, api_key=config["SHOPIFY_API_KEY"], api_secret=config["SHOPIFY_API_SECRET"]
    )
    shop_param = request.args.get("shop")
    if shop_param is not None:
        try:
            if normalize_shop_domain(shop_param) != token.shop:
                raise ShopMismatch("shop parameter does not match the session token")
        except InvalidShopDomain as error:
            raise ShopMismatch(str(error)) from error
    return token


def load_shop_session() -> None:
    """Set g.shop from a verified token; install by token exchange when the shop has no token."""
    token = verify_request_session()
    shop = get_shop(token.shop)
    if shop is None or not shop.is_installed:
        try:
            grant = exchange_session_token(token.shop, token.raw)
        except ShopifyAuthError as error:
            if error.error_code == "invalid_client":
                raise  # our credentials are wrong: an error page, not a retry loop
            raise InvalidSessionToken(f"token exchange failed: {error}") from error
        shop = install_shop(token.shop, grant)
        db.session.commit()
        announce_installed(shop)
    g.shop = shop
    g.session_token = token
    enter_shop(shop.id)


def recognise_shop_session() -> None:
    """For error pages: set g.shop from a valid token of an installed shop, so the page keeps
    the app's navigation. Never installs, never raises: the page is already an error."""
    if getattr(g, "shop", None) is not None:
        return
    try:
        token = verify_request_session()
        shop = get_shop(token.shop)
    except (InvalidSessionToken, SQLAlchemyError):
        return
    if shop is None or not shop.is_installed:
        return
    g.shop = shop
    g.session_token = token
    enter_shop(shop.id)


def shop_required(view: F) -> F:
    """Admin views: a verified App Bridge session for an installed shop, else 401/bounce."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any):
        load_shop_session()
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def is_demo_request() -> bool:
    """Demo mode serves only loopback clients, so a minted demo token never leaves the machine."""
    return bool(current_app.config["DEMO_MODE"]) and request.remote_addr in {"127.0.0.1", "::1"}


def _invalid_session(error: InvalidSessionToken) -> Response | tuple[Any, int, dict[str, str]]:
    if wants_json() or request.method != "GET":
        return {"error": "invalid session", "detail": str(error)}, 401, {RETRY_HEADER: "1"}
    if isinstance(error, ShopMismatch):
        page = render_template("errors/error.html", title="Wrong shop", message=str(error))
        return page, 401, {}
    if is_demo_request():
        return redirect(demo_reload_url(request.full_path))
    reload_target = _strip_token(request.full_path)
    query = {"shopify-reload": reload_target}
    for key in ("shop", "host"):
        if request.args.get(key):
            query[key] = request.args[key]
    return redirect(url_for("auth.session_token_bounce") + "?" + urlencode(query))


def _strip_token(full_path: str) -> str:
    path, _, query = full_path.partition("?")
    kept = [(k, v) for k, v in request.args.items(multi=True) if k != "id_token"]
    return path + ("?" + urlencode(kept) if kept else "")


def frame_ancestors(response: Response) -> Response:
    """Only the shop's own admin may frame our pages (Shopify's CSP requirement)."""
    shop = getattr(g, "shop", None)
    domain = shop.domain if shop is not None else None
    if domain is None:
        try:
            domain = normalize_shop_domain(request.args.get("shop"))
        except InvalidShopDomain:
            domain = None
    ancestors = f"https://{domain} https://admin.shopify.com" if domain else "'none'"
    response.headers["Content-Security-Policy"] = f"frame-ancestors {ancestors};"
    return response


def init_app(app: Flask) -> None:
    app.register_error_handler(InvalidSessionToken, _invalid_session)
    app.after_request(frame_ancestors)

    @app.errorhandler(ShopifyAuthError)
    def _shopify_auth(error: ShopifyAuthError):
        current_app.logger.error("Shopify refused the app's credentials: %s", error)
        if wants_json():
            return {"error": "shopify_auth", "detail": CREDENTIALS_REFUSED}, 502
        page = render_template(
            "errors/error.html",
            title="The app couldn't connect to Shopify",
            message=CREDENTIALS_REFUSED,
        )
        return page, 502
