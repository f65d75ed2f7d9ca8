"""Blueprint "proxy": the referral landing page Shopify forwards through the app proxy.

`https://SHOP/apps/referrals/r/CODE` reaches `/proxy/r/CODE?shop=…&logged_in_customer_id=…
&path_prefix=…&timestamp=…&signature=…`. Every request is checked by `verified_proxy_shop`
(Shopify's signature, a fresh timestamp, an installed shop) before anything else.
"""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, request

from shopify_app.platform.auth.proxy import proxy_message, verified_proxy_shop
from shopify_app.platform.errors import ShopifyAPIError
from shopify_app.platform.extensions import db
from shopify_app.platform.shopify.discounts import ShopifyDiscounts
from shopify_app.referrals.shopper_words import blocked_visit_message
from shopify_app.referrals.visits import UnknownReferralCode, VisitLimitReached, record_visit

bp = Blueprint("proxy", __name__, url_prefix="/proxy")


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
        return proxy_message(
            shop,
            "Link not found",
            "This invitation link doesn't work. Ask your friend to send it again.",
            404,
        )
    except VisitLimitReached:
        return proxy_message(
            shop,
            "Try again tomorrow",
            "This invitation link was used a lot today. Please try again tomorrow.",
            429,
        )
    except ShopifyAPIError:
        db.session.rollback()
        current_app.logger.exception("referee discount for %s failed", code)
        return proxy_message(
            shop,
            "Please try again",
            "We couldn't prepare your discount just now. Please try the link again in a minute.",
            503,
        )
    db.session.commit()
    if visit.blocked:
        words = blocked_visit_message(shop, visit.referrer, visit.referral.block_reason)
        return proxy_message(shop, words.title, words.message)
    return redirect(f"https://{shop.domain}/discount/{visit.referral.discount_code}?redirect=/")
