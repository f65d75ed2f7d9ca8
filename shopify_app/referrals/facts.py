"""Who a referral rule is about and what it reads of them, loaded for many referees at once.

The blocking rules run in memory, for a whole webhook run of orders, so what they read is
loaded up front in a few set-wise queries (`RefereeFacts.load`) rather than one per order;
a referee not yet known locally is created bare (`ensure_customer`) so every rule has an id.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from sqlalchemy import func, or_, select

from shopify_app.platform.customer_store import ShopifyCustomer, upsert_shopify_customer
from shopify_app.platform.extensions import db
from shopify_app.platform.models import Customer, Order, Referral, Shop
from shopify_app.platform.models.referral import COMPLETED


class Person(Protocol):
    """What the self-referral rule reads of a customer (a Customer, or a row of its columns)."""

    id: int
    email_canonical: str | None


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
