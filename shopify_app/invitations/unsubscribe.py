"""The unsubscribe link of an invitation email, and the storefront page it opens.

`https://SHOP/apps/referrals/unsubscribe/TOKEN` reaches `/proxy/unsubscribe/TOKEN` through the
app proxy; the token names the customer and cannot be forged.
"""

from __future__ import annotations

from flask import Blueprint, render_template, request
from itsdangerous import BadSignature
from sqlalchemy import select

from shopify_app.platform.auth.proxy import proxy_message, verified_proxy_shop
from shopify_app.platform.extensions import db
from shopify_app.platform.models import Customer
from shopify_app.platform.unsubscribe_links import (
    unsubscribe_serializer,
    unsubscribe_token,
    unsubscribe_url,
)

__all__ = ["bp", "unsubscribe", "unsubscribe_token", "unsubscribe_url"]

bp = Blueprint("unsubscribe", __name__, url_prefix="/proxy")


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
def unsubscribe(token: str):
    """GET asks to confirm (mail scanners follow links); POST unsubscribes from invitations."""
    shop = verified_proxy_shop()
    try:
        shop_id, customer_id = unsubscribe_serializer().loads(token)
    except (BadSignature, ValueError):
        return proxy_message(shop, "Link not valid", "This unsubscribe link is not valid.", 404)
    customer = db.session.execute(
        select(Customer).where(Customer.shop_id == shop.id, Customer.id == customer_id)
    ).scalar_one_or_none()
    if customer is None or shop_id != shop.id:
        return proxy_message(shop, "Link not valid", "This unsubscribe link is not valid.", 404)
    if request.method == "POST":
        customer.unsubscribed = True
        db.session.commit()
        return proxy_message(
            shop, "Unsubscribed", "You will not receive referral invitations again."
        )
    prefix = request.args.get("path_prefix", "/apps/referrals")
    return render_template(
        "proxy/unsubscribe.html", shop=shop, action=f"{prefix}/unsubscribe/{token}"
    )
