"""Redeeming: points buy a one-time Shopify discount code, and never spend twice.

`redeem` deducts the points and writes the pending Redemption (its code drawn up front) in the
caller's transaction, under a lock on the customer's row, and queues `jobs.issue_redemption`
for after the commit. `issue_code` then asks Shopify for the code: once it exists the
redemption is issued; if Shopify refuses (userErrors), or keeps failing, it fails and the
points come back. A second attempt after a crash finds the code already taken in Shopify and
takes that as created, so a code is created once whoever finishes the redemption (the
shopper's request, the job, or the sweep).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from shopify_app.loyalty.ledger import NegativeBalance, add_points
from shopify_app.platform.db import is_postgresql
from shopify_app.platform.errors import ShopifyAPIError, ShopNotInstalled
from shopify_app.platform.extensions import db
from shopify_app.platform.models import (
    Customer,
    LoyaltyReward,
    Order,
    PointBalance,
    Redemption,
    Shop,
)
from shopify_app.platform.models.base import utcnow
from shopify_app.platform.models.loyalty import (
    REDEMPTION_FAILED,
    REDEMPTION_ISSUED,
    REDEMPTION_PENDING,
)
from shopify_app.platform.queue import enqueue_after_commit
from shopify_app.platform.shopify.discounts import (
    DiscountError,
    Discounts,
    DiscountValue,
    random_code,
)

#: prefix of the codes bought with points: how an order's codes are found cheaply.
CODE_PREFIX = "POINTS"
#: Admin API calls that failed (not refused) before the redemption gives the points back.
MAX_ATTEMPTS = 6
#: what the shopper reads when the code could not be made (never Shopify's own words).
REFUSED = "We couldn't create your discount code, so your points have been returned."
GAVE_UP = "We couldn't reach our discount system, so your points have been returned."


class RedeemRefused(Exception):
    """The redemption cannot go ahead; the message is written for the shopper."""


class NotEnoughPoints(RedeemRefused):
    """The balance does not cover the reward (checked by the ledger's guarded update)."""


class RewardUnavailable(RedeemRefused):
    """The reward is not in the shop's active catalogue, or the customer has no account."""


@dataclass(frozen=True)
class RedemptionItem:
    """A code bought with points, as the pages show it."""

    id: int
    title: str
    points: int
    kind: str
    value: int
    min_order_minor: int
    code: str
    status: str
    error: str | None
    created_at: datetime
    used_at: datetime | None
    used_order_name: str | None

    @property
    def used(self) -> bool:
        return self.used_at is not None


def redeem(shop: Shop, customer: Customer, reward_id: int, request_id: str) -> Redemption:
    """Spend the reward's points on a pending redemption; never commits.

    The customer's row is locked first, so concurrent redeems of one customer run one after
    the other: the same `request_id` (a double submit) finds the first redemption and spends
    nothing, and two different ones cannot take the balance below zero (NotEnoughPoints).
    On RedeemRefused the caller rolls back.
    """
    if customer.shop_id != shop.id:
        raise ValueError("customer belongs to another shop")
    locked = _lock_customer(shop, customer)
    existing = _by_request(shop, locked.id, request_id)
    if existing is not None:
        return existing
    reward = db.session.execute(
        select(LoyaltyReward).where(
            LoyaltyReward.id == reward_id,
            LoyaltyReward.shop_id == shop.id,
            LoyaltyReward.active.is_(True),
        )
    ).scalar_one_or_none()
    if reward is None:
        raise RewardUnavailable("This reward is no longer available.")
    if locked.shopify_id is None:
        raise RewardUnavailable("Sign in to your account to use your points.")
    if locked.points_balance < reward.points_cost:
        raise NotEnoughPoints("You don't have enough points for this reward yet.")
    redemption, created = _insert(shop, locked, reward, request_id)
    if not created:
        return redemption  # another request with this id won the insert
    try:
        add_points(
            shop,
            locked,
            -reward.points_cost,
            description=f"Redeemed for {reward.title}",
            source="redeem",
            source_key=f"redeem:{redemption.id}",
        )
    except NegativeBalance as error:
        raise NotEnoughPoints("You don't have enough points for this reward yet.") from error
    enqueue_after_commit(
        "shopify_app.loyalty.jobs.issue_redemption",
        redemption.id,
        job_id=f"redeem-issue-{redemption.id}",
    )
    return redemption


def _lock_customer(shop: Shop, customer: Customer) -> Customer:
    """The customer's row, fresh and locked until the caller's transaction ends.

    SQLite has no row locks: a write takes the database's write lock instead (and opens the
    transaction, so the savepoints that follow nest inside it rather than commit on release).
    """
    mine = (Customer.id == customer.id, Customer.shop_id == shop.id)
    balance = (PointBalance.customer_id == customer.id, PointBalance.shop_id == shop.id)
    if not is_postgresql():
        db.session.execute(
            update(PointBalance)
            .where(*balance)
            .values(balance=PointBalance.balance)
            .execution_options(synchronize_session=False)
        )
    locked = db.session.execute(
        select(Customer).where(*mine).with_for_update().execution_options(populate_existing=True)
    ).scalar_one()
    # The balance as of the lock (the session may hold an older copy).
    db.session.execute(
        select(PointBalance)
        .where(*balance)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()
    return locked


def _by_request(shop: Shop, customer_id: int, request_id: str) -> Redemption | None:
    return db.session.execute(
        select(Redemption).where(
            Redemption.shop_id == shop.id,
            Redemption.customer_id == customer_id,
            Redemption.request_id == request_id,
        )
    ).scalar_one_or_none()


def _insert(
    shop: Shop, customer: Customer, reward: LoyaltyReward, request_id: str
) -> tuple[Redemption, bool]:
    """The pending row; a concurrent insert of the same request id (where the customer lock
    does not hold, SQLite) gives back that one. A drawn code already taken is drawn again."""
    for _ in range(5):
        redemption = Redemption(
            shop_id=shop.id,
            customer_id=customer.id,
            reward_id=reward.id,
            request_id=request_id,
            title=reward.title,
            points=reward.points_cost,
            kind=reward.kind,
            value=reward.value,
            min_order_minor=reward.min_order_minor,
            code=random_code(CODE_PREFIX),
            status=REDEMPTION_PENDING,
        )
        try:
            with db.session.begin_nested():
                db.session.add(redemption)
        except IntegrityError:
            existing = _by_request(shop, customer.id, request_id)
            if existing is not None:
                return existing, False
            continue
        return redemption, True
    raise RuntimeError("could not draw a unique redemption code")


def issue_code(shop: Shop, redemption_id: int, discounts: Discounts) -> Redemption | None:
    """Finish a pending redemption: create its code in Shopify, or fail it and refund.

    Never commits; the row stays locked until the caller does, so the shopper's request, the
    job and the sweep finish a redemption one at a time. An Admin API failure that is not a
    refusal leaves it pending (the sweep retries) until MAX_ATTEMPTS.
    """
    redemption = db.session.execute(
        select(Redemption)
        .where(Redemption.id == redemption_id, Redemption.shop_id == shop.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if redemption is None or redemption.status != REDEMPTION_PENDING:
        return redemption
    customer = db.session.get(Customer, redemption.customer_id)
    if customer is None or customer.shopify_gid is None:
        return _refund(shop, redemption, customer, REFUSED)
    try:
        discount_id = discounts.create(
            redemption.code,
            f"{redemption.title} ({redemption.points:,} points)",
            DiscountValue(redemption.kind, int(redemption.value)),
            customer.shopify_gid,
            min_subtotal_minor=int(redemption.min_order_minor or 0),
        )
    except DiscountError:
        return _refund(shop, redemption, customer, REFUSED)
    except (ShopifyAPIError, ShopNotInstalled):
        redemption.attempts += 1
        if redemption.attempts >= MAX_ATTEMPTS:
            return _refund(shop, redemption, customer, GAVE_UP)
        return redemption
    redemption.status, redemption.discount_gid, redemption.error = (
        REDEMPTION_ISSUED,
        discount_id,
        None,
    )
    return redemption


def _refund(
    shop: Shop, redemption: Redemption, customer: Customer | None, message: str
) -> Redemption:
    """Fail the redemption and give its points back, once (the refund has its own key)."""
    redemption.status, redemption.error = REDEMPTION_FAILED, message
    if customer is not None:
        add_points(
            shop,
            customer,
            redemption.points,
            description=f"Points returned: {redemption.title}",
            source="redeem_refund",
            source_key=f"redeem:{redemption.id}:refund",
            activity=False,
        )
    return redemption


def use_redemption_codes(shop: Shop, payloads: Iterable[dict[str, Any]]) -> int:
    """Mark codes bought with points as used by the orders of a webhook run; returns how many.

    Set-wise: most orders carry no such code and cost nothing; the rest cost one query for
    the codes and one for their orders. A code's one use is spent when an order carries it,
    and the first order wins (a repeated delivery changes nothing).
    """
    order_of: dict[str, int] = {}
    for payload in payloads:
        for entry in payload.get("discount_codes") or []:
            code = str(entry.get("code") or "").strip().upper()
            if code.startswith(CODE_PREFIX + "-") and payload.get("id"):
                order_of.setdefault(code, int(payload["id"]))
    if not order_of:
        return 0
    redemptions = db.session.scalars(
        select(Redemption).where(
            Redemption.shop_id == shop.id,
            Redemption.code.in_(order_of),
            Redemption.used_at.is_(None),
        )
    ).all()
    if not redemptions:
        return 0
    order_ids = dict(
        db.session.execute(
            select(Order.shopify_id, Order.id).where(
                Order.shop_id == shop.id,
                Order.shopify_id.in_({order_of[r.code] for r in redemptions}),
            )
        ).all()
    )
    now = utcnow()
    for redemption in redemptions:
        redemption.used_at = now
        redemption.used_order_id = order_ids.get(order_of[redemption.code])
    return len(redemptions)


def redemptions_of(shop: Shop, customer_id: int, limit: int = 50) -> list[RedemptionItem]:
    """The customer's codes bought with points, newest first (index on customer and id).

    Plain columns, not ORM rows: pages get data as stored now, never a session's stale copy.
    """
    rows = db.session.execute(
        select(
            Redemption.id,
            Redemption.title,
            Redemption.points,
            Redemption.kind,
            Redemption.value,
            Redemption.min_order_minor,
            Redemption.code,
            Redemption.status,
            Redemption.error,
            Redemption.created_at,
            Redemption.used_at,
            Order.name.label("used_order_name"),
        )
        .outerjoin(Order, Order.id == Redemption.used_order_id)
        .where(Redemption.shop_id == shop.id, Redemption.customer_id == customer_id)
        .order_by(Redemption.id.desc())
        .limit(limit)
    ).all()
    return [RedemptionItem(**row._asdict()) for row in rows]
