"""A referral link visit (the app proxy landing): a Pending referral and the referee's code.

Runs inside the proxy request's transaction, serialised per referrer by a row lock, and is
idempotent for a signed-in visitor: coming back gets the same code, never a second referral.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select

from shopify_app.platform.extensions import db
from shopify_app.platform.models import Customer, Referral, Shop
from shopify_app.platform.models.base import utcnow
from shopify_app.platform.models.referral import BLOCKED, PENDING
from shopify_app.platform.shopify.discounts import Discounts, random_code
from shopify_app.program.config import get_settings, referee_value
from shopify_app.referrals.blocking import block_reason
from shopify_app.referrals.codes import REFEREE_PREFIX
from shopify_app.referrals.facts import RefereeFacts, ensure_customer
from shopify_app.referrals.stats import bump

#: anonymous visits that mint a fresh referee code, per referrer per day: caps code farming.
ANONYMOUS_VISITS_PER_DAY = 100


class UnknownReferralCode(LookupError):
    """No joined customer of this shop has that referral code."""


class VisitLimitReached(RuntimeError):
    """The referrer's link minted too many anonymous codes today."""


@dataclass(frozen=True)
class Visit:
    """What a referral link visit led to: a discount code to apply, or a blocked referral."""

    referral: Referral
    referrer: Customer

    @property
    def blocked(self) -> bool:
        return self.referral.status == BLOCKED


def find_referrer(shop: Shop, code: str, *, lock: bool = False) -> Customer:
    """The joined customer whose referral code this is; raises UnknownReferralCode."""
    query = select(Customer).where(
        Customer.shop_id == shop.id,
        Customer.referral_code == code.strip().upper(),
        Customer.joined_at.is_not(None),
        Customer.deleted_at.is_(None),
        Customer.redacted_at.is_(None),
    )
    referrer = db.session.execute(query.with_for_update() if lock else query).scalar_one_or_none()
    if referrer is None:
        raise UnknownReferralCode(code)
    return referrer


def record_visit(
    shop: Shop, code: str, logged_in_customer_id: int | None, discounts: Discounts
) -> Visit:
    """A referral link was opened: record a Pending referral and create the referee's code.

    A signed-in visitor who cannot be referred (the referrer themselves, already referred,
    ordered before) gets a Blocked referral and no discount. A signed-in visitor coming back
    gets the same code again. Raises UnknownReferralCode, VisitLimitReached, DiscountError.
    """
    referrer = find_referrer(shop, code, lock=True)  # serialises visits per referrer
    referee = ensure_customer(shop, logged_in_customer_id) if logged_in_customer_id else None
    if referee is not None:
        existing = db.session.execute(
            select(Referral)
            .where(
                Referral.shop_id == shop.id,
                Referral.referrer_id == referrer.id,
                Referral.referee_id == referee.id,
                Referral.order_id.is_(None),
            )
            .order_by(Referral.id.desc())
            .limit(1)
        ).scalar_one_or_none()
        if existing is not None:
            return Visit(existing, referrer)
        referral = Referral(shop_id=shop.id, referrer_id=referrer.id, referee_id=referee.id)
        referral.referee_email = referee.email
        facts = RefereeFacts.load(shop, [referee.id])
        reason = block_reason(referral, referrer, referee, referee.email, None, facts)
        if reason:
            referral.status, referral.block_reason = BLOCKED, reason
            db.session.add(referral)
            db.session.flush()
            return Visit(referral, referrer)
    else:
        since = utcnow() - timedelta(days=1)
        anonymous_today = db.session.execute(
            select(func.count())
            .select_from(Referral)
            .where(
                Referral.shop_id == shop.id,
                Referral.referrer_id == referrer.id,
                Referral.referee_id.is_(None),
                Referral.created_at >= since,
            )
        ).scalar_one()
        if anonymous_today >= ANONYMOUS_VISITS_PER_DAY:
            raise VisitLimitReached(referrer.referral_code)
        referral = Referral(shop_id=shop.id, referrer_id=referrer.id)

    settings = get_settings(shop)
    referral.status = PENDING
    referral.discount_code = random_code(REFEREE_PREFIX)
    referral.discount_shopify_id = discounts.create(
        referral.discount_code,
        f"Referral discount (friend of {referrer.referral_code})",
        referee_value(settings),
        referee.shopify_gid if referee is not None else None,
    )
    db.session.add(referral)
    db.session.flush()
    bump(referrer.id, total_referees=1)
    return Visit(referral, referrer)
