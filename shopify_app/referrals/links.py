"""A customer's referral link, as the referral capability names it (the helper is the
platform's, so the Klaviyo sync below this layer prints the same URL)."""

from shopify_app.platform.referral_links import HasReferralCode, referral_link

__all__ = ["HasReferralCode", "referral_link"]
