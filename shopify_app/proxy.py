"""Blueprint "proxy": storefront pages Shopify forwards through the app proxy.

`https://SHOP/apps/referrals/r/CODE` reaches `/proxy/r/CODE?shop=…&logged_in_customer_id=…
&path_prefix=…&timestamp=…&signature=…`. Every request is checked by `verified_proxy_shop`
(Shopify's signature, a fresh timestamp, an installed shop) before anything else.
"""

from __future__ import annotations

import time

from flask import Blueprint, abort, current_app, redirect, render_template, request
from itsdangerous import BadSignature, URLSafeSerializer

from shopify_app.platform.auth.shop_domain import normalize_shop_domain
from shopify_app.platform.errors import InvalidShopDomain, ShopifyAPIError
from shopify_app.platform.extensions import db
from shopify_app.platform.models import Customer, Shop
from shopify_app.platform.shopify.discounts import ShopifyDiscounts
from shopify_app.platform.shopify.signatures import multidict_items, verify_proxy_query
from shopify_app.platform.shops import get_shop
from shopify_app.services.referrals import UnknownReferralCode, VisitLimitReached, record_visit

bp = Blueprint("proxy", __name__, url_prefix="/proxy")


class ForgedProxyRequest(Exception):
    """The app proxy signature or timestamp does not check out."""


def verified_proxy_shop() -> Shop:
    """The installed shop of a correctly signed, fresh app proxy request."""
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
    return shop


def _page(shop: Shop | None, title: str, message: str, status: int = 200):
    return render_template("proxy/message.html", shop=shop, title=title, message=message), status


@bp.errorhandler(ForgedProxyRequest)
def _forged(error: ForgedProxyRequest):
    return _page(None, "Link not valid", "This request could not be verified.", 401)


@bp.get("/r/<code>")
def landing(code: str):
    """Record the visit, hand out the referee discount and apply it at the storefront."""
    shop = verified_proxy_shop()
    customer_id = request.args.get("logged_in_customer_id", "")
    try:
        visit = record_visit(
            shop, code, int(customer_id) if customer_id.isdigit() else None, ShopifyDiscounts(shop)
        )
    except UnknownReferralCode:
        return _page(shop, "Link not found", "This referral link is not valid.", 404)
    except VisitLimitReached:
        return _page(shop, "Try again tomorrow", "This link was used a lot today.", 429)
    except ShopifyAPIError:
        db.session.rollback()
        current_app.logger.exception("referee discount for %s failed", code)
        return _page(shop, "Please try again", "We could not prepare your discount.", 503)
    db.session.commit()
    if visit.blocked:
        return _page(shop, "This offer is for new customers", visit.referral.block_reason or "")
    return redirect(f"https://{shop.domain}/discount/{visit.referral.discount_code}?redirect=/")


def _unsubscribe_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="invitation-unsubscribe")


def unsubscribe_token(customer: Customer) -> str:
    """The token in an invitation's unsubscribe link: names the customer, cannot be forged."""
    return _unsubscribe_serializer().dumps([customer.shop_id, customer.id])


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
def unsubscribe(token: str):
    """GET asks to confirm (mail scanners follow links); POST unsubscribes from invitations."""
    shop = verified_proxy_shop()
    try:
        shop_id, customer_id = _unsubscribe_serializer().loads(token)
    except (BadSignature, ValueError):
        return _page(shop, "Link not valid", "This unsubscribe link is not valid.", 404)
    customer = db.session.get(Customer, customer_id)
    if customer is None or shop_id != shop.id or customer.shop_id != shop.id:
        return _page(shop, "Link not valid", "This unsubscribe link is not valid.", 404)
    if request.method == "POST":
        customer.unsubscribed = True
        db.session.commit()
        return _page(shop, "Unsubscribed", "You will not receive referral invitations again.")
    prefix = request.args.get("path_prefix", "/apps/referrals")
    return render_template(
        "proxy/unsubscribe.html", shop=shop, action=f"{prefix}/unsubscribe/{token}"
    )
