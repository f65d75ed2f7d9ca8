"""Blueprint "loyalty": the rewards catalogue shoppers spend their points on."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request

from shopify_app.loyalty import catalogue
from shopify_app.loyalty.forms import RewardForm, RewardFormValues, stored_values
from shopify_app.platform.auth.guards import shop_required
from shopify_app.platform.extensions import db
from shopify_app.platform.models import LoyaltyReward
from shopify_app.platform.shops import get_for_shop_or_404
from shopify_app.platform.templating import admin_url

bp = Blueprint("loyalty", __name__, url_prefix="/loyalty")


@bp.get("/rewards")
@shop_required
def rewards():
    """The catalogue, active rewards first; each row links to its edit form."""
    return render_template(
        "loyalty/rewards.html",
        rewards=catalogue.rewards_of(g.shop),
        describe=catalogue.describe_value,
    )


def _form_page(reward: LoyaltyReward | None, values: RewardFormValues, errors=None, status=200):
    return render_template(
        "loyalty/reward.html", reward=reward, values=values, errors=errors or {}
    ), status


@bp.route("/rewards/new", methods=["GET", "POST"])
@shop_required
def new_reward():
    if request.method == "GET":
        return _form_page(None, RewardFormValues())
    form = RewardForm(request.form, currency=g.shop.currency)
    if not form.validate():
        return _form_page(None, form.shown(), form.field_errors(), 400)
    reward = catalogue.add_reward(g.shop, form.changes())
    db.session.commit()
    flash(f"Reward “{reward.title}” added.", "success")
    return redirect(admin_url("loyalty.rewards"))


@bp.route("/rewards/<int:reward_id>", methods=["GET", "POST"])
@shop_required
def edit_reward(reward_id: int):
    """Change a reward's terms; codes already bought keep the terms they were bought with."""
    reward = get_for_shop_or_404(LoyaltyReward, reward_id, g.shop)
    if request.method == "GET":
        return _form_page(reward, stored_values(reward, g.shop.currency))
    form = RewardForm(request.form, currency=g.shop.currency)
    if not form.validate():
        return _form_page(reward, form.shown(), form.field_errors(), 400)
    catalogue.update_reward(g.shop, reward, form.changes())
    db.session.commit()
    flash(f"Reward “{reward.title}” saved.", "success")
    return redirect(admin_url("loyalty.rewards"))


@bp.get("/rewards/<int:reward_id>/deactivate")
@shop_required
def ask_deactivate(reward_id: int):
    """Ask first: shoppers stop seeing the reward; the form POSTs below."""
    reward = get_for_shop_or_404(LoyaltyReward, reward_id, g.shop)
    return render_template("loyalty/deactivate.html", reward=reward)


@bp.post("/rewards/<int:reward_id>/deactivate")
@shop_required
def deactivate(reward_id: int):
    reward = get_for_shop_or_404(LoyaltyReward, reward_id, g.shop)
    catalogue.set_reward_active(g.shop, reward, False)
    db.session.commit()
    flash(f"Reward “{reward.title}” deactivated.", "info")
    return redirect(admin_url("loyalty.rewards"))


@bp.post("/rewards/<int:reward_id>/activate")
@shop_required
def activate(reward_id: int):
    reward = get_for_shop_or_404(LoyaltyReward, reward_id, g.shop)
    catalogue.set_reward_active(g.shop, reward, True)
    db.session.commit()
    flash(f"Reward “{reward.title}” is back on the shopper's page.", "success")
    return redirect(admin_url("loyalty.rewards"))
