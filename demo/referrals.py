"""Demo referrals: the referral engine run on generated visits and orders, never rows by hand.

Referral visits go through `record_visit`, orders through the `orders/*` webhook handlers, and
invitations through the real batch, claim and SMTP send (to the demo's local mail sink).

Discount codes: when the Admin API answers for the demo shop (the Shopify double, reached
through `SHOPIFY_API_BASE` on loopback), codes are created there through the real client.
Otherwise they stay local: referee codes are kept without a Shopify id and rewards are marked
`shopify_status="offline"`, so no job ever tries to reach a real shop from the demo.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import requests
from flask import current_app
from sqlalchemy import func, select

from shopify_app.invitations.batches import create_batch, prepare_batch
from shopify_app.invitations.jobs import send_batch
from shopify_app.invitations.selection import Selection
from shopify_app.platform.errors import AppError
from shopify_app.platform.extensions import db
from shopify_app.platform.models import Customer, Referral, Reward, Shop, WebhookEvent
from shopify_app.platform.models.base import utcnow
from shopify_app.platform.money import decimal_text, exponent
from shopify_app.platform.queue import discard_pending_jobs
from shopify_app.platform.shopify.discounts import Discounts, OfflineDiscounts, ShopifyDiscounts
from shopify_app.platform.shopify.tokens import access_token_for, shop_base_url
from shopify_app.program import config as program
from shopify_app.referrals.rewards import sync_reward_with
from shopify_app.referrals.visits import record_visit
from webhooks import orders

REFERRERS = 40
VISITS = 140
INVITES = 30
ORDER_ID_BASE = 8_100_000_000


def seed_demo_referrals(shop: Shop, *, seed: int = 11) -> str:
    """Run the engine on generated traffic (idempotent: a seeded shop is left alone).

    Commits as it goes, like a command: invitations are sent by the real job code, which
    reads its batch in its own session.
    """
    existing = db.session.scalar(
        select(func.count()).select_from(Referral).where(Referral.shop_id == shop.id)
    )
    if existing:
        return f"demo referrals: {existing} already seeded"
    rng = random.Random(seed)
    discounts = _discounts(shop)
    program.get_settings(shop)
    members = db.session.scalars(
        select(Customer)
        .where(Customer.shop_id == shop.id, Customer.is_member.is_(True))
        .where(Customer.email_key.is_not(None), Customer.shopify_id.is_not(None))
        .order_by(Customer.id)
    ).all()
    if len(members) < REFERRERS + 10:
        return "demo referrals: not enough customers to seed"
    referrers = members[:REFERRERS]
    for referrer in referrers:
        program.join_program(shop, referrer)
    traffic = _Traffic(shop, rng)
    friends = members[REFERRERS:]
    for referee in friends[:VISITS]:
        referrer = rng.choice(referrers)
        roll = rng.random()
        if roll < 0.1:
            traffic.visit_and_order(referrer, referrer, discounts)  # self-referral: blocked
        elif roll < 0.2:
            traffic.order(referee, [], when=utcnow() - timedelta(days=120))  # ordered before
            traffic.visit_and_order(referrer, referee, discounts)
        elif roll < 0.75:
            traffic.visit_and_order(referrer, referee, discounts, signed_in=rng.random() < 0.5)
        else:
            record_visit(shop, referrer.referral_code, None, discounts)  # pending
    db.session.flush()
    rewards = db.session.scalars(
        select(Reward).where(Reward.shop_id == shop.id).order_by(Reward.id)
    ).all()
    for reward in rewards:
        if rng.random() < 0.5:
            owner = db.session.get(Customer, reward.customer_id)
            earned = reward.referral_id and db.session.get(Referral, reward.referral_id)
            start = (earned.completed_at if earned else None) or utcnow() - timedelta(days=30)
            when = start + (utcnow() - start) * rng.random()
            traffic.order(owner, [reward.code], total=rng.randint(2500, 18000), when=when)
    for order_id in traffic.referee_orders[:: max(len(traffic.referee_orders) // 3, 1)][:3]:
        traffic.cancel(order_id)
    _settle_rewards(shop, discounts)
    db.session.commit()
    uninvolved = db.session.scalars(
        select(Customer.id)
        .where(Customer.shop_id == shop.id, Customer.joined_at.is_(None))
        .where(Customer.email_key.is_not(None), Customer.total_referees == 0)
        .order_by(Customer.id.desc())
        .limit(INVITES)
    ).all()
    sent = _send_invitations(shop, list(uninvolved))
    counts = dict(
        db.session.execute(
            select(Referral.status, func.count())
            .where(Referral.shop_id == shop.id)
            .group_by(Referral.status)
        ).all()
    )
    return (
        "demo referrals: "
        + ", ".join(f"{counts.get(s, 0)} {s}" for s in ("completed", "pending", "blocked"))
        + f", {len(rewards)} rewards, {sent} invitations sent"
        + ("" if isinstance(discounts, ShopifyDiscounts) else " (discount codes kept local)")
    )


def _discounts(shop: Shop) -> Discounts:
    """Shopify's discounts when the Admin API answers on loopback (the double), else offline."""
    base = current_app.config["SHOPIFY_API_BASE"]
    if urlsplit(base.replace("{shop}", "x")).hostname not in {"127.0.0.1", "localhost"}:
        return OfflineDiscounts()
    url = f"{shop_base_url(shop.domain)}/admin/api/{current_app.config['SHOPIFY_API_VERSION']}"
    try:
        response = requests.post(
            f"{url}/graphql.json",
            json={"query": "{ shop { id } }"},
            headers={"X-Shopify-Access-Token": access_token_for(shop)},
            timeout=1,
        )
        answered = response.status_code == 200 and not response.json().get("errors")
    except (requests.RequestException, ValueError, AppError):
        answered = False
    return ShopifyDiscounts(shop) if answered else OfflineDiscounts()


class _Traffic:
    """Generated storefront traffic: visits, and orders delivered to the webhook handlers."""

    def __init__(self, shop: Shop, rng: random.Random) -> None:
        self.shop = shop
        self.rng = rng
        self.next_id = ORDER_ID_BASE
        self.referee_orders: list[dict[str, Any]] = []

    def visit_and_order(
        self, referrer: Customer, referee: Customer, discounts: Discounts, signed_in: bool = False
    ) -> None:
        visit = record_visit(
            self.shop,
            referrer.referral_code or "",
            referee.shopify_id if signed_in else None,
            discounts,
        )
        if not visit.blocked and visit.referral.discount_code:
            payload = self.order(referee, [visit.referral.discount_code])
            self.referee_orders.append(payload)

    def order(
        self,
        customer: Customer | None,
        codes: list[str],
        total: int | None = None,
        when: datetime | None = None,
    ) -> dict:
        self.next_id += 1
        when = when or utcnow() - timedelta(days=self.rng.uniform(0, 90))
        total = total or self.rng.randint(1500, 25000)
        payload = _order_payload(self.shop, self.next_id, customer, codes, total, when)
        orders.on_order(self.shop, payload, _event("orders/paid", self.shop, when))
        return payload

    def cancel(self, payload: dict[str, Any]) -> None:
        when = datetime.fromisoformat(payload["updated_at"]) + timedelta(days=2)
        cancelled = {**payload, "cancelled_at": when.isoformat(), "updated_at": when.isoformat()}
        orders.on_cancelled(self.shop, cancelled, _event("orders/cancelled", self.shop, when))


def _order_payload(
    shop: Shop, order_id: int, customer: Customer | None, codes: list[str], total: int, when
) -> dict[str, Any]:
    stamp = when.isoformat()
    return {
        "id": order_id,
        "name": f"#{order_id - ORDER_ID_BASE + 1000}",
        "email": customer.email if customer else None,
        "currency": shop.currency,
        "total_price": decimal_text(total, exponent(shop.currency)),
        "financial_status": "paid",
        "discount_codes": [{"code": c, "amount": "0.00", "type": "fixed_amount"} for c in codes],
        "customer": {"id": customer.shopify_id, "email": customer.email} if customer else None,
        "created_at": stamp,
        "processed_at": stamp,
        "updated_at": stamp,
        "cancelled_at": None,
    }


def _event(topic: str, shop: Shop, when) -> WebhookEvent:
    """A delivery record for the handler's signature; demo traffic is not a real delivery."""
    return WebhookEvent(
        webhook_id=f"demo-{topic}", shop_domain=shop.domain, topic=topic, received_at=when
    )


def _settle_rewards(shop: Shop, discounts: Discounts) -> None:
    """Create the rewards in Shopify now, or mark them offline so no job reaches for Shopify."""
    pending = db.session.scalars(
        select(Reward).where(Reward.shop_id == shop.id, Reward.shopify_status == "pending")
    ).all()
    for reward in pending:
        if isinstance(discounts, ShopifyDiscounts):
            sync_reward_with(shop, reward, discounts)
        else:
            reward.shopify_status = "offline"
    discard_pending_jobs()


def _send_invitations(shop: Shop, customer_ids: list[int]) -> int:
    """Invite a few customers through the real batch and SMTP code, to `SMTP_URL`.

    `bin/run` points it at the demo's local mail sink, so these arrive on the demo's "Caught
    emails" page; with no mail server they fail at once, with that reason, on the batch page.
    """
    if not customer_ids:
        return 0
    batch = create_batch(shop, Selection(customer_ids=tuple(customer_ids)))
    prepare_batch(shop, batch)
    db.session.commit()
    send_batch(batch.id)
    db.session.expire_all()
    return db.session.get(type(batch), batch.id).sent
