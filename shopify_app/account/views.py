"""Blueprint "account": the shopper's points page on the storefront, through the app proxy.

`https://SHOP/apps/referrals/account` reaches `/proxy/account?shop=…&logged_in_customer_id=…
&path_prefix=…&timestamp=…&signature=…`; `verified_proxy_shop` checks it before anything else
(a forged one is a 401). Answers are `application/liquid`, which Shopify renders inside the
theme; the forms post back through the proxy (signed the same way) and redirect to the page.
"""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, request
from wtforms import IntegerField, StringField
from wtforms.validators import DataRequired, Length

from shopify_app.account.liquid import render_liquid
from shopify_app.account.page import (
    account_page,
    account_url,
    logged_in_customer,
    login_url,
    request_token,
    storefront_prefix,
    valid_request_token,
)
from shopify_app.loyalty.redeeming import NotEnoughPoints, RedeemRefused, issue_code, redeem
from shopify_app.platform.auth.proxy import verified_proxy_shop
from shopify_app.platform.extensions import db
from shopify_app.platform.forms import MerchantForm
from shopify_app.platform.models import Customer, Shop
from shopify_app.platform.shopify.client import AdminClient
from shopify_app.platform.shopify.discounts import ShopifyDiscounts
from shopify_app.program.config import join_program

bp = Blueprint("account", __name__, url_prefix="/proxy/account")
#: a shopper waits on the redeem: one short try, then the job and the sweep finish it.
SHOPPER_TIMEOUT = 4.0


class ShopperForm(MerchantForm):
    """A storefront form: its request id (a double submit repeats it) and maybe a reward."""

    request_id = StringField(validators=[DataRequired(), Length(max=64)])
    reward_id = IntegerField(default=0)


def _signed_in() -> tuple[Shop, str, Customer | None]:
    shop = verified_proxy_shop()
    prefix = storefront_prefix(request.args.get("path_prefix"))
    return shop, prefix, logged_in_customer(shop, request.args.get("logged_in_customer_id"))


@bp.get("")
def page():
    """Balance, history, rewards, codes and the referral link of the signed-in shopper."""
    shop, prefix, customer = _signed_in()
    if not request.args.get("logged_in_customer_id"):
        return render_liquid("account/sign_in.liquid", shop=shop, login_url=login_url(prefix))
    if customer is None:
        return render_liquid("account/unknown.liquid", shop=shop)
    data = account_page(
        shop,
        customer,
        before=request.args.get("before", type=int),
        redeemed=request.args.get("redeemed", type=int),
        notice=request.args.get("notice"),
    )
    token = request_token(current_app.config["SECRET_KEY"], shop, customer)
    return render_liquid(
        "account/page.liquid", shop=shop, page=data, prefix=prefix, request_id=token
    )


def _valid_form(shop: Shop, customer: Customer) -> ShopperForm | None:
    form = ShopperForm(request.form)
    secret = current_app.config["SECRET_KEY"]
    if form.validate() and valid_request_token(secret, shop, customer, form.request_id.data):
        return form
    return None


@bp.post("/redeem")
def redeem_reward():
    """Spend the points (committed first), then try Shopify once, briefly; redirect to the page."""
    shop, prefix, customer = _signed_in()
    form = _valid_form(shop, customer) if customer is not None else None
    if customer is None or form is None:
        return redirect(account_url(prefix, notice="expired"))
    try:
        redemption = redeem(shop, customer, form.reward_id.data or 0, form.request_id.data)
        db.session.commit()
    except RedeemRefused as refusal:
        db.session.rollback()
        notice = "points" if isinstance(refusal, NotEnoughPoints) else "unavailable"
        return redirect(account_url(prefix, notice=notice))
    client = AdminClient(shop, timeout=SHOPPER_TIMEOUT, http_retries=1)
    issue_code(shop, redemption.id, ShopifyDiscounts(shop, client))
    db.session.commit()
    return redirect(account_url(prefix, redeemed=redemption.id))


@bp.post("/join")
def join():
    """Join the referral program from the points page, to get a link to share."""
    shop, prefix, customer = _signed_in()
    if customer is None or _valid_form(shop, customer) is None:
        return redirect(account_url(prefix, notice="expired"))
    join_program(shop, customer)
    db.session.commit()
    return redirect(account_url(prefix, notice="joined"))
