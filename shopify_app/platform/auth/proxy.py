"""The proxy-verified guard: a storefront request that Shopify really forwarded.

Checked before anything else: Shopify's signature, a fresh timestamp, an installed shop.
"""

from __future__ import annotations

import time

from flask import Flask, abort, current_app, render_template, request

from shopify_app.platform.auth.shop_domain import normalize_shop_domain
from shopify_app.platform.errors import InvalidShopDomain
from shopify_app.platform.models import Shop
from shopify_app.platform.shopify.signatures import multidict_items, verify_proxy_query
from shopify_app.platform.shops import get_shop
from shopify_app.platform.tenancy import enter_shop


class ForgedProxyRequest(Exception):
    """The app proxy signature or timestamp does not check out."""


def verified_proxy_shop() -> Shop:
    """The installed shop of a correctly signed, fresh app proxy request; scopes the session."""
    params = multidict_items(request.args)
    if not verify_proxy_query(params, current_app.config["SHOPIFY_API_SECRET"]):
        raise ForgedProxyRequest("bad signature")
    try:
        stamp = int(request.args.get("timestamp", ""))
    except ValueError as error:
        raise ForgedProxyRequest("bad timestamp") from error
    # Shopify signs each forwarded request with its time; older ones are replays.
    max_age = current_app.config["PROXY_MAX_AGE_SECONDS"]
    if abs(time.time() - stamp) > max_age:
        raise ForgedProxyRequest("stale timestamp")
    try:
        domain = normalize_shop_domain(request.args.get("shop"))
    except InvalidShopDomain as error:
        raise ForgedProxyRequest(str(error)) from error
    shop = get_shop(domain)
    if shop is None or not shop.is_installed:
        abort(404)
    enter_shop(shop.id)
    return shop


def proxy_message(shop: Shop | None, title: str, message: str, status: int = 200):
    """A storefront message page in the store's voice (Shopify renders it in the theme)."""
    return render_template("proxy/message.html", shop=shop, title=title, message=message), status


def _forged(error: ForgedProxyRequest):
    return proxy_message(None, "Link not valid", "This request could not be verified.", 401)


def init_app(app: Flask) -> None:
    """A request that fails `verified_proxy_shop` gets the same page on every proxy route."""
    app.register_error_handler(ForgedProxyRequest, _forged)
