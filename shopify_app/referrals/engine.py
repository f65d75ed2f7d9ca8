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

import hashlib
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import bindparam, func, or_, select, update

from shopify_app.platform.customer_store import (
    ShopifyCustomer,
    canonical_email,
    upsert_shopify_customer,
)
from shopify_app.platform.extensions import db
from shopify_app.platform.models import Customer, Order, Referral, Reward, Shop
from shopify_app.platform.models.base import utcnow
from shopify_app.platform.models.referral import BLOCKED, COMPLETED, PENDING, UNUSED, USED, VOID
from shopify_app.platform.queue import enqueue_after_commit
from shopify_app.platform.shopify.discounts import Discounts, DiscountValue, random_code
from shopify_app.program.config import get_settings, referee_value, reward_value
from shopify_app.referrals.orders import locked_orders

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
    _bump_many({customer_id: Counter(deltas)})


def _bump_many(deltas: dict[int, Counter[str]]) -> None:
    """Many customers' stats deltas in one executemany, in id order (the order rows lock in)."""
    rows = {cid: d for cid, d in sorted(deltas.items()) if any(d.values())}
    names = sorted({name for d in rows.values() for name, delta in d.items() if delta})
    if not names:
        return
    table = Customer.__table__
    # Core, not ORM: an ORM UPDATE first evaluates its criteria against every loaded object.
    statement = (
        update(table)
        .where(table.c.id == bindparam("b_id"))
        .values({name: table.c[name] + bindparam(f"d_{name}") for name in names})
    )
    db.session.execute(
        statement,
        [{"b_id": cid, **{f"d_{n}": d.get(n, 0) for n in names}} for cid, d in rows.items()],
    )


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


class Person(Protocol):
    """What the self-referral rule reads of a customer (a Customer, or a row of its columns)."""

    id: int
    email_canonical: str | None


def _same_person(referrer: Person, referee: Person | None, email: str | None) -> str | None:
    if referee is not None and referee.id == referrer.id:
        return SELF_REFERRAL
    emails = {canonical_email(email)} | ({referee.email_canonical} if referee else set())
    if referrer.email_canonical and referrer.email_canonical in emails:
        return SELF_REFERRAL_EMAIL
    return None


@dataclass
class RefereeFacts:
    """What the blocking rules read about referees, loaded for many of them in two queries.

    `completed`: per referee, its Completed referrals as (referral id, referrer id).
    `first_orders`: per referee, its earliest live (not cancelled) orders as (id, processed_at):
    the first by processing time and the first by id, which is all `ordered_before` needs.
    """

    completed: dict[int, list[tuple[int, int]]] = field(default_factory=dict)
    first_orders: dict[int, list[tuple[int, datetime | None]]] = field(default_factory=dict)

    @classmethod
    def load(cls, shop: Shop, referee_ids: Iterable[int]) -> RefereeFacts:
        ids = sorted(set(referee_ids))
        facts = cls()
        if not ids:
            return facts
        for referee_id, referral_id, referrer_id in db.session.execute(
            select(Referral.referee_id, Referral.id, Referral.referrer_id).where(
                Referral.shop_id == shop.id,
                Referral.referee_id.in_(ids),
                Referral.status == COMPLETED,
            )
        ):
            facts.completed.setdefault(referee_id, []).append((referral_id, referrer_id))
        by_time = func.row_number().over(
            partition_by=Order.customer_id,
            order_by=(Order.processed_at.asc().nulls_last(), Order.id),
        )
        by_id = func.row_number().over(partition_by=Order.customer_id, order_by=Order.id)
        ranked = (
            select(
                Order.customer_id,
                Order.id,
                Order.processed_at,
                by_time.label("by_time"),
                by_id.label("by_id"),
            )
            .where(
                Order.shop_id == shop.id,
                Order.customer_id.in_(ids),
                Order.cancelled_at.is_(None),
            )
            .subquery()
        )
        for customer_id, order_id, processed_at in db.session.execute(
            select(ranked.c.customer_id, ranked.c.id, ranked.c.processed_at).where(
                or_(ranked.c.by_time == 1, ranked.c.by_id == 1)
            )
        ):
            facts.first_orders.setdefault(customer_id, []).append((order_id, processed_at))
        return facts

    def earlier_referral(self, referee_id: int, referral_id: int | None) -> tuple[int, int] | None:
        """A Completed referral of the referee other than this one: (id, referrer id)."""
        return next((r for r in self.completed.get(referee_id, ()) if r[0] != referral_id), None)

    def ordered_before(self, referee_id: int, order: Order | None) -> bool:
        """Did the referee place a live order before this one (any live order, with none)?

        The earliest order by (processed_at, id) answers it, or the lowest id when this order
        has no processing time: the same comparison the order table's columns would make.
        """
        firsts = self.first_orders.get(referee_id, ())
        if order is None:
            return bool(firsts)
        for other_id, other_at in firsts:
            if other_id == order.id:
                continue
            if order.processed_at is None:
                if other_id < order.id:
                    return True
            elif other_at is not None and (other_at, other_id) < (order.processed_at, order.id):
                return True
        return False


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


def on_orders_paid(shop: Shop, order_ids: list[int]) -> None:
    """Paid orders, in delivery order: complete (or block) the referrals their codes belong
    to, and mark the rewards they paid with as Used.

    Set-wise, for a webhook batch: a few statements load every row the rules read (locking
    the rows they change), the decisions run in memory in delivery order, so each order sees
    what the orders before it decided, and the changes are written together. An order that
    is not paid, or cancelled, or fully refunded, changes nothing; nor does an order seen
    before.
    """
    if order_ids:
        _PaidOrders(shop, order_ids).attribute()


class _PaidOrders:
    """One call of `on_orders_paid`: what it loaded, and what it decided so far."""

    def __init__(self, shop: Shop, order_ids: list[int]) -> None:
        self.shop = shop
        self.orders = _locked_live_orders(order_ids)
        self.referrals: dict[str, list[Referral]] = {}
        self.rewards: dict[str, Reward] = {}
        self.referral_rewards: dict[int, Reward] = {}
        self.referrers: dict[int, Person] = {}
        self.referees: dict[int, Person] = {}
        self.facts = RefereeFacts()
        self.deltas: defaultdict[int, Counter[str]] = defaultdict(Counter)
        self.to_sync: list[Reward] = []

    def attribute(self) -> None:
        routed = [(order, *engine_codes(order.discount_codes)) for order in self.orders]
        referral_codes = {code for _, codes, _ in routed for code in codes}
        reward_codes = {code for _, _, codes in routed for code in codes}
        if referral_codes:
            self._load_referrals(referral_codes, [o for o, codes, _ in routed if codes])
        if reward_codes:
            self._load_rewards(reward_codes)
        for order, codes, rewards in routed:
            if codes:
                self._attribute(order, codes)
            if rewards:
                self._use_rewards(order, rewards)
        _bump_many(self.deltas)
        if self.to_sync:
            queue_reward_syncs(self.to_sync)

    def _load_referrals(self, codes: set[str], orders: list[Order]) -> None:
        rows = (
            db.session.execute(
                select(Referral)
                .where(Referral.shop_id == self.shop.id, Referral.discount_code.in_(codes))
                .order_by(Referral.id)
                .with_for_update()
            )
            .scalars()
            .all()
        )
        if not rows:
            return
        for row in rows:
            self.referrals.setdefault(row.discount_code or "", []).append(row)
        people = select(Customer.id, Customer.email_canonical)
        self.referrers = {
            row.id: row
            for row in db.session.execute(
                people.where(Customer.id.in_({r.referrer_id for r in rows}))
            )
        }
        for order in orders:
            if order.customer_id is None and order.shopify_customer_id is not None:
                order.customer_id = ensure_customer(self.shop, order.shopify_customer_id).id
        referee_ids = sorted({o.customer_id for o in orders if o.customer_id is not None})
        if referee_ids:
            # Locked: two orders of one referee through two links must not both complete.
            self.referees = {
                row.id: row
                for row in db.session.execute(
                    people.where(Customer.id.in_(referee_ids))
                    .order_by(Customer.id)
                    .with_for_update()
                )
            }
        self.facts = RefereeFacts.load(self.shop, self.referees)
        self.referral_rewards = {
            reward.referral_id: reward
            for reward in db.session.execute(
                select(Reward).where(
                    Reward.shop_id == self.shop.id,
                    Reward.referral_id.in_([r.id for r in rows]),
                )
            ).scalars()
            if reward.referral_id is not None
        }

    def _load_rewards(self, codes: set[str]) -> None:
        self.rewards = {
            reward.code: reward
            for reward in db.session.execute(
                select(Reward)
                .where(Reward.shop_id == self.shop.id, Reward.code.in_(codes))
                .order_by(Reward.id)
                .with_for_update()
            ).scalars()
        }

    def _attribute(self, order: Order, codes: list[str]) -> None:
        rows = sorted(
            {id(r): r for code in codes for r in self.referrals.get(code, ())}.values(),
            key=lambda r: (r.id is None, r.id or 0),
        )
        if not rows or any(r.order_id == order.id for r in rows):
            return  # not a referral order, or this order was attributed already
        referral = rows[0]
        referrer = self.referrers[referral.referrer_id]
        referee = self.referees.get(order.customer_id) if order.customer_id else None
        if referral.order_id is not None or referral.status != PENDING:
            reused = Referral(
                shop_id=self.shop.id,
                referrer_id=referral.referrer_id,
                referee_id=referee.id if referee else None,
                referee_email=order.email,
                status=BLOCKED,
                block_reason=CODE_REUSED,
                discount_code=referral.discount_code,
                order_id=order.id,
                order_total_minor=order.total_minor,
            )
            db.session.add(reused)
            self.referrals[referral.discount_code or ""].append(reused)
            return
        reason = block_reason(referral, referrer, referee, order.email, order, self.facts)
        referral.referee_id = referee.id if referee else referral.referee_id
        referral.referee_email = order.email or referral.referee_email
        if reason:
            referral.status, referral.block_reason = BLOCKED, reason
            referral.order_id, referral.order_total_minor = order.id, order.total_minor
            self.deltas[referrer.id]["total_referees"] -= 1
            return
        if order.total_minor < get_settings(self.shop).min_order_minor:
            return  # not a qualifying order: the referral stays Pending
        self._complete(referral, referrer, order)
        if referee is not None:
            self.facts.completed.setdefault(referee.id, []).append((referral.id, referrer.id))

    def _complete(self, referral: Referral, referrer: Person, order: Order) -> None:
        referral.status, referral.block_reason = COMPLETED, None
        referral.order_id, referral.order_total_minor = order.id, order.total_minor
        referral.completed_at = order.paid_at or utcnow()
        self.deltas[referrer.id].update(
            successful_referrals=1, referee_revenue_minor=order.total_minor
        )
        reward = self.referral_rewards.get(referral.id)
        if reward is None:
            value = reward_value(get_settings(self.shop))
            reward = Reward(
                shop_id=self.shop.id,
                customer_id=referrer.id,
                referral_id=referral.id,
                code=random_code(REWARD_PREFIX),
                value_type=value.kind,
                value=value.value,
                status=UNUSED,
            )
            db.session.add(reward)
            self.referral_rewards[referral.id] = reward
        elif reward.status == VOID:
            reward.status = UNUSED  # the referral completed again: reactivate its reward
        self.to_sync.append(reward)

    def _use_rewards(self, order: Order, codes: list[str]) -> None:
        rewards = sorted((self.rewards[c] for c in codes if c in self.rewards), key=_by_id)
        for reward in rewards:
            if reward.used_order_id is not None:
                continue  # used already (by this order: a repeat delivery; by another: ignored)
            reward.status, reward.used_order_id = USED, order.id
            reward.used_at = order.paid_at or utcnow()
            reward.revenue_minor = order.total_minor
            self.deltas[reward.customer_id]["referrer_revenue_minor"] += order.total_minor


def _by_id(row: Reward) -> int:
    return row.id


def _locked_live_orders(order_ids: list[int]) -> list[Order]:
    """The orders, fresh and row-locked, once each in first-seen order, if paid and live."""
    loaded = locked_orders(order_ids)
    orders = [loaded[i] for i in dict.fromkeys(order_ids) if i in loaded]
    return [o for o in orders if o.paid_at is not None and not _is_reversed(o)]


# --- reversal (orders/cancelled, full refunds) ---------------------------------------------------


def on_order_reversed(shop: Shop, order: Order) -> None:
    """A cancelled or fully refunded order: reverse what it counted, once.

    The referee's order: the referral goes back to Pending and its unused reward is voided
    (deactivated in Shopify); if the reward was already used it cannot be taken back, so the
    referral is Blocked with that reason. An order paid with a reward code: its revenue
    leaves the referrer's revenue.
    """
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


def queue_reward_sync(reward: Reward) -> None:
    """Mark the reward as needing Shopify's attention and queue the sync after commit."""
    queue_reward_syncs([reward])


def queue_reward_syncs(rewards: list[Reward]) -> None:
    """`queue_reward_sync` for many rewards: one flush gives the new ones their ids, and one
    job syncs them all (a webhook batch's rewards cost one job, not one each)."""
    if not rewards:
        return
    for reward in rewards:
        reward.shopify_status = "pending"
    db.session.flush()
    ids = [reward.id for reward in rewards]
    key = hashlib.sha1(",".join(f"{r.id}:{r.status}" for r in rewards).encode()).hexdigest()
    enqueue_after_commit(
        "shopify_app.referrals.jobs.sync_rewards", ids, job_id=f"reward-sync-{key}"
    )
