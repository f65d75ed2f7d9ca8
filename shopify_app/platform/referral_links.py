"""A customer's referral link: one helper, so emails, pages, exports and Klaviyo print the
same URL. In the platform because capabilities on every layer (down to the Klaviyo sync,
which the Program page uses) print it."""

from __future__ import annotations

from typing import Protocol

from shopify_app.platform.models import Shop


class HasReferralCode(Protocol):
    referral_code: str | None


def referral_link(shop: Shop, customer: HasReferralCode) -> str | None:
    """The storefront link through the app proxy; None until the customer has a code."""
    if not customer.referral_code:
        return None
    return f"https://{shop.domain}/apps/referrals/r/{customer.referral_code}"
