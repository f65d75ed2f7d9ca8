"""The unsubscribe link of an invitation email, and the storefront page it opens.

`https://SHOP/apps/referrals/unsubscribe/TOKEN` reaches `/proxy/unsubscribe/TOKEN` through the
app proxy; the token names the customer and cannot be forged.
"""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select

from shopify_app.platform.auth.proxy import proxy_message, verified_proxy_shop
from shopify_app.platform.extensions import db
from shopify_app.platform.models import Customer, Shop

bp = Blueprint("unsubscribe", __name__, url_prefix="/proxy")


def unsubscribe_url(shop: Shop, customer: Customer) -> str:
    return f"https://{shop.domain}/apps/referrals/unsubscribe/{unsubscribe_token(customer)}"


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
