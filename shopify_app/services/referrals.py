"""The referral engine: visits, attribution, blocking, rewards, reversals, maintained stats.

Every entry point runs inside its caller's transaction (a webhook delivery, a proxy request)
and is idempotent: the same order twice changes nothing. The referrer's statistics on
`Customer` are changed with relative UPDATEs in the same transaction as the rows they
summarise, so they stay exactly in step with these invariants (see `referral_stats`):

- total_referees = the referrer's referrals that are not Blocked;
- successful_referrals = its Completed referrals;
- referee_revenue_minor = the order totals of those Completed referrals;
- referrer_revenue_minor = the `revenue_minor` of its rewards (orders it paid with a reward
  code, zeroed when such an order is cancelled or fully refunded).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import and_, func, or_, select, update

from shopify_app.extensions import db
from shopify_app.models import Customer, Order, Referral, Reward, Shop
from shopify_app.models.base import utcnow
from shopify_app.models.referral import BLOCKED, COMPLETED, PENDING, UNUSED, USED, VOID
from shopify_app.services.customers import ShopifyCustomer, canonical_email, upsert_shopify_customer
from shopify_app.services.discounts import Discounts, DiscountValue, random_code
from shopify_app.services.program import get_settings, referee_value, reward_value

SELF_REFERRAL = "Self-referral: the referee is the referrer"
SELF_REFERRAL_EMAIL = "Self-referral: the referee uses the referrer's email"
ORDERED_BEFORE = "The referee had already ordered before"
REFERRED_BY_OTHER = "The referee was already referred by someone else"
REPEAT_REFEREE = "The referee was already referred by this customer"
CODE_REUSED = "Second use of a one-time referral code"
REVERSED_AFTER_REWARD = "The referee's order was cancelled or refunded after the reward was used"
#: prefixes of the codes this engine creates: how a paid order's codes are routed.
REFEREE_PREFIX, REWARD_PREFIX = "FRIEND", "THANKS"
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


# --- stats --------------------------------------------------------------------------------------


def _bump(customer_id: int, **deltas: int) -> None:
    """Relative UPDATE of the maintained stats: concurrent writers never lose an increment."""
    table = Customer.__table__
    values = {name: table.c[name] + delta for name, delta in deltas.items() if delta}
    if values:
        # Core, not ORM: an ORM UPDATE first evaluates its criteria against every loaded object.
        db.session.execute(update(table).where(table.c.id == customer_id).values(**values))


def referral_stats(shop: Shop, customer_id: int) -> dict[str, int]:
    """The four maintained stats recomputed from the rows: the oracle the columns must match."""
    by_status = dict(
        db.session.execute(
            select(Referral.status, func.count())
            .where(Referral.shop_id == shop.id, Referral.referrer_id == customer_id)
            .group_by(Referral.status)
        ).all()
    )
    referee_revenue = db.session.execute(
        select(func.coalesce(func.sum(Referral.order_total_minor), 0)).where(
            Referral.shop_id == shop.id,
            Referral.referrer_id == customer_id,
            Referral.status == COMPLETED,
        )
    ).scalar_one()
    referrer_revenue = db.session.execute(
        select(func.coalesce(func.sum(Reward.revenue_minor), 0)).where(
            Reward.shop_id == shop.id, Reward.customer_id == customer_id
        )
    ).scalar_one()
    return {
        "total_referees": by_status.get(PENDING, 0) + by_status.get(COMPLETED, 0),
        "successful_referrals": by_status.get(COMPLETED, 0),
        "referee_revenue_minor": int(referee_revenue),
        "referrer_revenue_minor": int(referrer_revenue),
    }


# --- identities --------------------------------------------------------------------------------


def ensure_customer(shop: Shop, shopify_id: int) -> Customer:
    """The local customer for a Shopify id, created bare when its webhook has not arrived.

    `customers/create` later fills it in (a bare row has no `shopify_updated_at`).
    """
    customer = db.session.execute(
        select(Customer).where(Customer.shop_id == shop.id, Customer.shopify_id == shopify_id)
    ).scalar_one_or_none()
    if customer is not None:
        return customer
    created = upsert_shopify_customer(
        shop,
        ShopifyCustomer(
            shopify_id=shopify_id,
            email=None,
            first_name="",
            last_name="",
            locale=None,
            state="DISABLED",
            tags="",
            updated_at=None,
        ),
    )
    assert created is not None
    return created


def _same_person(referrer: Customer, referee: Customer | None, email: str | None) -> str | None:
    if referee is not None and referee.id == referrer.id:
        return SELF_REFERRAL
    emails = {canonical_email(email)} | ({referee.email_canonical} if referee else set())
    if referrer.email_canonical and referrer.email_canonical in emails:
        return SELF_REFERRAL_EMAIL
    return None


def _earlier_referral(shop: Shop, referee: Customer, exclude_id: int | None) -> Referral | None:
    return db.session.execute(
        select(Referral)
        .where(
            Referral.shop_id == shop.id,
            Referral.referee_id == referee.id,
            Referral.status == COMPLETED,
            Referral.id != (exclude_id or 0),
        )
        .limit(1)
    ).scalar_one_or_none()


def _ordered_before(shop: Shop, referee: Customer, order: Order | None) -> bool:
    """Did the referee place an order (not cancelled) before this one?"""
    query = select(Order.id).where(
        Order.shop_id == shop.id, Order.customer_id == referee.id, Order.cancelled_at.is_(None)
    )
    if order is not None:
        earlier = Order.id < order.id
        if order.processed_at is not None:
            earlier = or_(
                Order.processed_at < order.processed_at,
                and_(Order.processed_at == order.processed_at, Order.id < order.id),
            )
        query = query.where(Order.id != order.id, earlier)
    return db.session.execute(query.limit(1)).first() is not None


def block_reason(
    shop: Shop,
    referral: Referral,
    referrer: Customer,
    referee: Customer | None,
    email: str | None,
    order: Order | None,
) -> str | None:
    """Why this referee cannot complete this referral, or None when they can."""
    reason = _same_person(referrer, referee, email)
    if reason or referee is None:
        return reason
    earlier = _earlier_referral(shop, referee, referral.id)
    if earlier is not None:
        return REPEAT_REFEREE if earlier.referrer_id == referrer.id else REFERRED_BY_OTHER
    if _ordered_before(shop, referee, order):
        return ORDERED_BEFORE
    return None


# --- visits (the app proxy landing) --------------------------------------------------------------


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
        reason = block_reason(shop, referral, referrer, referee, referee.email, None)
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
    _bump(referrer.id, total_referees=1)
    return Visit(referral, referrer)


# --- attribution (orders/paid) ------------------------------------------------------------------


def _is_reversed(order: Order) -> bool:
    fully_refunded = order.total_minor > 0 and order.refunded_minor >= order.total_minor
    return (
        order.cancelled_at is not None
        or fully_refunded
        or order.financial_status in {"refunded", "voided"}
    )


def _order_referee(shop: Shop, order: Order) -> Customer | None:
    """The order's customer, row-locked: two orders of one referee through two links must not
    both complete."""
    if order.customer_id is None and order.shopify_customer_id is not None:
        order.customer_id = ensure_customer(shop, order.shopify_customer_id).id
    if order.customer_id is None:
        return None
    return db.session.execute(
        select(Customer).where(Customer.id == order.customer_id).with_for_update()
    ).scalar_one_or_none()


def engine_codes(codes: list[str] | None) -> tuple[list[str], list[str]]:
    """The referee discount codes and the reward codes among an order's codes, normalised.

    Codes are routed by the prefixes this engine gives them; the merchant's own are ignored.
    """
    normalised = {c.strip().upper() for c in codes or [] if c and c.strip()}
    return (
        sorted(c for c in normalised if c.startswith(REFEREE_PREFIX + "-")),
        sorted(c for c in normalised if c.startswith(REWARD_PREFIX + "-")),
    )


def routes(codes: list[str]) -> bool:
    """Does any of these codes belong to the engine (a referee discount or a reward)?"""
    return any(engine_codes(codes))


def on_order_paid(shop: Shop, order: Order) -> None:
    """A paid order: complete (or block) the referral its code belongs to, mark rewards Used.

    An order with no code, or with the merchant's own codes, costs no query at all.
    """
    referral_codes, reward_codes = engine_codes(order.discount_codes)
    if not (referral_codes or reward_codes) or _is_reversed(order):
        return
    if referral_codes:
        _attribute_referral(shop, order, referral_codes)
    if reward_codes:
        _use_rewards(shop, order, reward_codes)


def _attribute_referral(shop: Shop, order: Order, codes: list[str]) -> None:
    rows = (
        db.session.execute(
            select(Referral)
            .where(Referral.shop_id == shop.id, Referral.discount_code.in_(codes))
            .order_by(Referral.id)
            .with_for_update()
        )
        .scalars()
        .all()
    )
    if not rows or any(r.order_id == order.id for r in rows):
        return  # not a referral order, or this order was attributed already
    referral = rows[0]
    referrer = db.session.get(Customer, referral.referrer_id)
    assert referrer is not None
    referee = _order_referee(shop, order)
    if referral.order_id is not None or referral.status != PENDING:
        db.session.add(
            Referral(
                shop_id=shop.id,
                referrer_id=referral.referrer_id,
                referee_id=referee.id if referee else None,
                referee_email=order.email,
                status=BLOCKED,
                block_reason=CODE_REUSED,
                discount_code=referral.discount_code,
                order_id=order.id,
                order_total_minor=order.total_minor,
            )
        )
        return
    reason = block_reason(shop, referral, referrer, referee, order.email, order)
    referral.referee_id = referee.id if referee else referral.referee_id
    referral.referee_email = order.email or referral.referee_email
    if reason:
        referral.status, referral.block_reason = BLOCKED, reason
        referral.order_id, referral.order_total_minor = order.id, order.total_minor
        _bump(referrer.id, total_referees=-1)
        return
    settings = get_settings(shop)
    if order.total_minor < settings.min_order_minor:
        return  # not a qualifying order: the referral stays Pending
    _complete(shop, referral, referrer, order)


def _complete(shop: Shop, referral: Referral, referrer: Customer, order: Order) -> None:
    from shopify_app.jobs.referrals import queue_reward_sync

    referral.status, referral.block_reason = COMPLETED, None
    referral.order_id, referral.order_total_minor = order.id, order.total_minor
    referral.completed_at = order.paid_at or utcnow()
    _bump(referrer.id, successful_referrals=1, referee_revenue_minor=order.total_minor)
    reward = db.session.execute(
        select(Reward).where(Reward.shop_id == shop.id, Reward.referral_id == referral.id)
    ).scalar_one_or_none()
    if reward is None:
        value = reward_value(get_settings(shop))
        reward = Reward(
            shop_id=shop.id,
            customer_id=referrer.id,
            referral_id=referral.id,
            code=random_code(REWARD_PREFIX),
            value_type=value.kind,
            value=value.value,
            status=UNUSED,
        )
        db.session.add(reward)
    elif reward.status == VOID:
        reward.status = UNUSED  # the referral completed again: reactivate its reward
    queue_reward_sync(reward)


def _use_rewards(shop: Shop, order: Order, codes: list[str]) -> None:
    rewards = (
        db.session.execute(
            select(Reward)
            .where(Reward.shop_id == shop.id, Reward.code.in_(codes))
            .order_by(Reward.id)
            .with_for_update()
        )
        .scalars()
        .all()
    )
    for reward in rewards:
        if reward.used_order_id is not None:
            continue  # used already (by this order: a repeat delivery; by another: ignored)
        reward.status, reward.used_order_id = USED, order.id
        reward.used_at = order.paid_at or utcnow()
        reward.revenue_minor = order.total_minor
        _bump(reward.customer_id, referrer_revenue_minor=order.total_minor)


# --- reversal (orders/cancelled, full refunds) ---------------------------------------------------


def on_order_reversed(shop: Shop, order: Order) -> None:
    """A cancelled or fully refunded order: reverse what it counted, once.

    The referee's order: the referral goes back to Pending and its unused reward is voided
    (deactivated in Shopify); if the reward was already used it cannot be taken back, so the
    referral is Blocked with that reason. An order paid with a reward code: its revenue
    leaves the referrer's revenue.
    """
    from shopify_app.jobs.referrals import queue_reward_sync

    referrals = (
        db.session.execute(
            select(Referral)
            .where(
                Referral.shop_id == shop.id,
                Referral.order_id == order.id,
                Referral.status == COMPLETED,
            )
            .with_for_update()
        )
        .scalars()
        .all()
    )
    for referral in referrals:
        total = referral.order_total_minor or 0
        _bump(referral.referrer_id, successful_referrals=-1, referee_revenue_minor=-total)
        reward = db.session.execute(
            select(Reward)
            .where(Reward.shop_id == shop.id, Reward.referral_id == referral.id)
            .with_for_update()
        ).scalar_one_or_none()
        if reward is not None and reward.status == USED:
            referral.status, referral.block_reason = BLOCKED, REVERSED_AFTER_REWARD
            _bump(referral.referrer_id, total_referees=-1)
            continue
        referral.status = PENDING
        referral.order_id = referral.order_total_minor = referral.completed_at = None
        if reward is not None and reward.status == UNUSED:
            reward.status = VOID
            queue_reward_sync(reward)

    rewards = (
        db.session.execute(
            select(Reward)
            .where(
                Reward.shop_id == shop.id,
                Reward.used_order_id == order.id,
                Reward.revenue_minor != 0,
            )
            .with_for_update()
        )
        .scalars()
        .all()
    )
    for reward in rewards:
        _bump(reward.customer_id, referrer_revenue_minor=-reward.revenue_minor)
        reward.revenue_minor = 0


def sync_reward_with(shop: Shop, reward: Reward, discounts: Discounts) -> None:
    """Bring the reward's code in Shopify in line with its status; raises ShopifyAPIError."""
    if reward.status == VOID:
        if reward.shopify_discount_id:
            discounts.set_active(reward.shopify_discount_id, False)
    elif reward.shopify_discount_id is None:
        referrer = db.session.get(Customer, reward.customer_id)
        reward.shopify_discount_id = discounts.create(
            reward.code,
            f"Referral reward for {referrer.display_name if referrer else 'a referrer'}",
            reward_value_of(reward),
            referrer.shopify_gid if referrer is not None else None,
        )
    elif reward.status == UNUSED:
        discounts.set_active(reward.shopify_discount_id, True)
    reward.shopify_status = "synced"
    reward.shopify_error = None


def reward_value_of(reward: Reward) -> DiscountValue:
    return DiscountValue(reward.value_type, int(reward.value))
