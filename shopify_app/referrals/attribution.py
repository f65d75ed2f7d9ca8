"""Paid orders complete (or block) the referrals their codes belong to, and use rewards.

Runs inside the webhook delivery's transaction and is idempotent: the same order twice
changes nothing. Set-wise for a run of deliveries: load every row the rules read (locking
what changes), decide in memory in delivery order, write the changes together.
"""

from __future__ import annotations

from collections import Counter, defaultdict

from sqlalchemy import select

from shopify_app.loyalty.earning import earn_for_referrals
from shopify_app.platform.extensions import db
from shopify_app.platform.models import Customer, Order, Referral, Reward, Shop
from shopify_app.platform.models.base import utcnow
from shopify_app.platform.models.referral import BLOCKED, COMPLETED, PENDING, UNUSED, USED, VOID
from shopify_app.platform.shopify.discounts import random_code
from shopify_app.program.config import get_settings, reward_value
from shopify_app.referrals.blocking import CODE_REUSED, block_reason
from shopify_app.referrals.codes import REWARD_PREFIX, engine_codes
from shopify_app.referrals.facts import Person, RefereeFacts, ensure_customer
from shopify_app.referrals.orders import locked_orders
from shopify_app.referrals.rewards import queue_reward_syncs
from shopify_app.referrals.stats import bump_many


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
        self.completed: list[Referral] = []

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
        bump_many(self.deltas)
        if self.to_sync:
            queue_reward_syncs(self.to_sync)
        earn_for_referrals(self.shop, self.completed)

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
        self.completed.append(referral)
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


def _is_reversed(order: Order) -> bool:
    fully_refunded = order.total_minor > 0 and order.refunded_minor >= order.total_minor
    return (
        order.cancelled_at is not None
        or fully_refunded
        or order.financial_status in {"refunded", "voided"}
    )
