"""The tests' one set of factories: customers, orders, referrals, rewards, points, created
directly (the engines that make them in production are tested on their own). Stats columns
are set by hand, as the referral engine keeps them."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from shopify_app.platform.customer_store import email_fields
from shopify_app.platform.extensions import db
from shopify_app.platform.models import (
    Customer,
    Order,
    PointBalance,
    PointsEntry,
    Referral,
    Reward,
    Shop,
)
from shopify_app.platform.models.referral import COMPLETED, USED

_seq = itertools.count(1)
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def customer_fields(shop: Shop, **overrides: Any) -> dict[str, Any]:
    """The one set of defaults for a test customer: a Member with a Shopify id, unique email.

    `email` is stored in its three forms; a `state` given without `is_member` decides it.
    """
    n = next(_seq)
    email = overrides.pop("email", f"customer{n}@example.com")
    fields: dict[str, Any] = {
        "shop_id": shop.id,
        "shopify_id": 9_000_000 + n,
        "first_name": f"First{n}",
        "last_name": f"Last{n}",
        "state": "ENABLED",
        "is_member": True,
        "created_at": T0 + timedelta(minutes=n),
        **email_fields(email),
    }
    fields.update(overrides)
    if "state" in overrides and "is_member" not in overrides:
        fields["is_member"] = overrides["state"] == "ENABLED"
    return fields


def make_customer(shop: Shop, **overrides: Any) -> Customer:
    """A customer row, flushed (the caller commits)."""
    customer = Customer(**customer_fields(shop, **overrides))
    db.session.add(customer)
    db.session.flush()
    return customer


#: a Guest as contacts imports store them: an email, no Shopify id, no account.
CONTACT = {"shopify_id": None, "first_name": "", "last_name": "", "state": "DISABLED"}


def make_contact(shop: Shop, email: str, **overrides: Any) -> Customer:
    """A Guest contact (`CONTACT`) with this email, flushed."""
    return make_customer(shop, email=email, **{**CONTACT, **overrides})


def make_customers(shop: Shop, many: list[dict[str, Any]]) -> list[Customer]:
    """Many customers in one flush (imports test thousands)."""
    customers = [Customer(**customer_fields(shop, **overrides)) for overrides in many]
    db.session.add_all(customers)
    db.session.flush()
    return customers


def make_order(shop: Shop, customer: Customer | None, total_minor: int, **overrides: Any) -> Order:
    n = next(_seq)
    order = Order(
        shop_id=shop.id,
        shopify_id=5_000_000 + n,
        customer_id=customer.id if customer else None,
        name=f"#{1000 + n}",
        total_minor=total_minor,
        currency=shop.currency,
        discount_codes=[],
        financial_status="paid",
        paid_at=overrides.pop("paid_at", T0),
        **overrides,
    )
    db.session.add(order)
    db.session.flush()
    return order


def make_referral(
    shop: Shop,
    referrer: Customer,
    referee: Customer | None = None,
    *,
    status: str = "pending",
    created_at: datetime = T0,
    completed_at: datetime | None = None,
    order_total_minor: int | None = None,
    block_reason: str | None = None,
) -> Referral:
    order = None
    if status == COMPLETED:
        order = make_order(shop, referee, order_total_minor or 0, paid_at=completed_at)
    referral = Referral(
        shop_id=shop.id,
        referrer_id=referrer.id,
        referee_id=referee.id if referee else None,
        referee_email=referee.email if referee else None,
        status=status,
        block_reason=block_reason,
        order_id=order.id if order else None,
        order_total_minor=order_total_minor if order else None,
        completed_at=completed_at if order else None,
        created_at=created_at,
    )
    db.session.add(referral)
    db.session.flush()
    return referral


def make_reward(
    shop: Shop,
    customer: Customer,
    *,
    referral: Referral | None = None,
    used_order: Order | None = None,
    value: int = 1000,
) -> Reward:
    reward = Reward(
        shop_id=shop.id,
        customer_id=customer.id,
        referral_id=referral.id if referral else None,
        code=f"THANKS-{next(_seq):05d}",
        value_type="fixed_amount",
        value=value,
        status=USED if used_order else "unused",
        used_order_id=used_order.id if used_order else None,
        used_at=used_order.paid_at if used_order else None,
        revenue_minor=used_order.total_minor if used_order else 0,
    )
    db.session.add(reward)
    db.session.flush()
    return reward


def set_balance(customer: Customer, balance: int) -> None:
    """Put the customer's balance at `balance` directly (no ledger row), flushed."""
    customer.balance_row.balance = balance
    db.session.flush()


def set_balances(shop: Shop, balance: int, *, shopify_id: int | None = None) -> None:
    """Every customer of the shop (or the one with `shopify_id`) at `balance`, no ledger rows."""
    query = update(PointBalance).where(PointBalance.shop_id == shop.id).values(balance=balance)
    if shopify_id is not None:
        ids = select(Customer.id).where(
            Customer.shop_id == shop.id, Customer.shopify_id == shopify_id
        )
        query = query.where(PointBalance.customer_id.in_(ids))
    db.session.execute(query.execution_options(synchronize_session=False))
    db.session.expire_all()


def make_points(shop: Shop, customer: Customer, *deltas: tuple[int, str, str]) -> None:
    """Ledger rows with running balances, and the balance they end on."""
    balance = customer.points_balance
    for n, (delta, description, source) in enumerate(deltas):
        balance += delta
        db.session.add(
            PointsEntry(
                shop_id=shop.id,
                customer_id=customer.id,
                delta=delta,
                balance_after=balance,
                description=description,
                source=source,
                created_at=T0 + timedelta(hours=n),
            )
        )
    set_balance(customer, balance)


def seed_showcase(shop: Shop, *, customers: int = 60, now: datetime | None = None) -> Customer:
    """A shop whose every card, chart and table has content; returns its best referrer.

    Referrals, rewards and orders fall in the last 30 days, and each customer's maintained
    stats are set to what those rows add up to, as the referral engine keeps them.
    """

    rng = random.Random(5)
    now = now or datetime.now(UTC)
    names = [
        ("Ada", "Lovelace"),
        ("Grace", "Hopper"),
        ("Alan", "Turing"),
        ("Léa", "Dubois"),
        ("Kofi", "Okafor"),
        ("Aiko", "Tanaka"),
        ("Ingrid", "Larsen"),
        ("Omar", "Haddad"),
    ]
    people = []
    for n in range(customers):
        first, last = names[n % len(names)]
        people.append(
            make_customer(
                shop,
                first_name=first,
                last_name=f"{last}{'' if n < len(names) else f' {n}'}",
                email=f"{first}.{last}.{n}@example.com".lower(),
                state="ENABLED" if rng.random() < 0.65 else "DISABLED",
                joined_at=now - timedelta(days=rng.randint(30, 200)) if n < 30 else None,
                referral_code=f"REF{n:04d}" if n < 30 else None,
                created_at=now - timedelta(days=rng.randint(31, 400), minutes=n),
            )
        )
    stats: dict[int, dict[str, int]] = {}
    for n in range(1, 45):
        referrer = people[rng.choice([0, 0, 0, 1, 1, 2, 3, 4, 5])]
        referee = people[30 + n % 30]
        status = rng.choice(["completed", "completed", "pending", "blocked"])
        created = now - timedelta(days=rng.randint(0, 29), hours=rng.randint(0, 23))
        total = rng.choice([4500, 8900, 12000, 23950])
        referral = make_referral(
            shop,
            referrer,
            referee,
            status=status,
            created_at=created,
            completed_at=min(created + timedelta(hours=rng.randint(1, 40)), now),
            order_total_minor=total,
            block_reason="The referee had already ordered before" if status == "blocked" else None,
        )
        s = stats.setdefault(referrer.id, {"refs": 0, "done": 0, "referee": 0, "referrer": 0})
        s["refs"] += status != "blocked"
        if status == "completed":
            s["done"] += 1
            s["referee"] += total
            used = rng.random() < 0.5
            order = None
            if used:
                paid = min(referral.completed_at + timedelta(days=rng.randint(0, 5)), now)
                order = make_order(shop, referrer, rng.choice([3000, 6400]), paid_at=paid)
                s["referrer"] += order.total_minor
            make_reward(shop, referrer, referral=referral, used_order=order)
    for customer in people:
        s = stats.get(customer.id)
        if s:
            customer.total_referees, customer.successful_referrals = s["refs"], s["done"]
            customer.referee_revenue_minor, customer.referrer_revenue_minor = (
                s["referee"],
                s["referrer"],
            )
        if rng.random() < 0.7:
            make_points(
                shop,
                customer,
                (rng.choice([100, 250, 500]), "Spring import", "import"),
                (rng.choice([50, 120]), "Referral reward", "referral"),
                (-rng.choice([0, 40]), "Redeemed at checkout", "manual"),
            )
    db.session.flush()
    return people[0]
