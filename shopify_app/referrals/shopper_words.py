"""What a shopper reads when a referral link can't give them the offer, in the store's voice.

The block reasons in `blocking` are written for the merchant's table ("Self-referral: …");
a shopper landing from a friend's link needs to hear what happened and what they can do.
"""

from __future__ import annotations

from dataclasses import dataclass

from shopify_app.platform.models import Customer, Shop
from shopify_app.referrals.blocking import (
    CODE_REUSED,
    ORDERED_BEFORE,
    REFERRED_BY_OTHER,
    REPEAT_REFEREE,
    REVERSED_AFTER_REWARD,
    SELF_REFERRAL,
    SELF_REFERRAL_EMAIL,
)


@dataclass(frozen=True)
class ShopperMessage:
    title: str
    message: str


def _referrer_name(referrer: Customer) -> str:
    return (referrer.first_name or "").strip() or "a friend"


def blocked_visit_message(shop: Shop, referrer: Customer, reason: str | None) -> ShopperMessage:
    """The page a shopper sees when their visit through `referrer`'s link was blocked."""
    name = _referrer_name(referrer)
    store = shop.name or "our store"
    if reason in (SELF_REFERRAL, SELF_REFERRAL_EMAIL):
        return ShopperMessage(
            "This is your own link",
            f"This link is for friends of {name} — it can't be used on your own account. "
            "Share it with friends: when they order, you both get a reward.",
        )
    if reason == ORDERED_BEFORE:
        return ShopperMessage(
            "Welcome back",
            f"This offer is for a first order at {store}, and you've shopped with us before. "
            "Thanks for coming back!",
        )
    if reason == REFERRED_BY_OTHER:
        return ShopperMessage(
            "You already have an invitation",
            f"You've already accepted another friend's invitation to {store}, "
            "so this one can't be used as well.",
        )
    if reason in (REPEAT_REFEREE, CODE_REUSED):
        return ShopperMessage(
            "Invitation already used",
            f"You've already used {name}'s invitation to {store}.",
        )
    if reason == REVERSED_AFTER_REWARD:
        return ShopperMessage(
            "This offer has ended",
            f"This invitation from {name} can no longer be used.",
        )
    return ShopperMessage(
        "This offer isn't available",
        f"This invitation from {name} can't be used on your account.",
    )
