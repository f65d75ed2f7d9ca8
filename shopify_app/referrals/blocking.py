"""Why a referral is blocked: the reasons, and the rule that picks one for a referee.

Deciding is apart from loading (`facts`) and from writing (the visit, attribution and
reversal modules): `block_reason` reads only what it is given, so a whole run of orders is
decided in memory, each order seeing what the ones before it decided.
"""

from __future__ import annotations

from shopify_app.platform.customer_store import canonical_email
from shopify_app.platform.models import Order, Referral
from shopify_app.referrals.facts import Person, RefereeFacts

SELF_REFERRAL = "Self-referral: the referee is the referrer"
SELF_REFERRAL_EMAIL = "Self-referral: the referee uses the referrer's email"
ORDERED_BEFORE = "The referee had already ordered before"
REFERRED_BY_OTHER = "The referee was already referred by someone else"
REPEAT_REFEREE = "The referee was already referred by this customer"
CODE_REUSED = "Second use of a one-time referral code"
REVERSED_AFTER_REWARD = "The referee's order was cancelled or refunded after the reward was used"


def _same_person(referrer: Person, referee: Person | None, email: str | None) -> str | None:
    if referee is not None and referee.id == referrer.id:
        return SELF_REFERRAL
    emails = {canonical_email(email)} | ({referee.email_canonical} if referee else set())
    if referrer.email_canonical and referrer.email_canonical in emails:
        return SELF_REFERRAL_EMAIL
    return None


def block_reason(
    referral: Referral,
    referrer: Person,
    referee: Person | None,
    email: str | None,
    order: Order | None,
    facts: RefereeFacts,
) -> str | None:
    """Why this referee cannot complete this referral, or None when they can."""
    reason = _same_person(referrer, referee, email)
    if reason or referee is None:
        return reason
    earlier = facts.earlier_referral(referee.id, referral.id)
    if earlier is not None:
        return REPEAT_REFEREE if earlier[1] == referrer.id else REFERRED_BY_OTHER
    if facts.ordered_before(referee.id, order):
        return ORDERED_BEFORE
    return None
