"""Points for paid orders, taken back by refunds in proportion and by cancellation in full.

An order's ledger rows are keyed on their sources: `order:<id>:earn` (its orders/paid),
`refund:<id>` (each refund's share) and `order:<id>:cancel` (what was still held). Every
call settles an order from what is stored, whichever webhook arrived first: the earning is
computed on the subtotal before refunds, then each recorded refund without its row gets one,
then a cancellation takes the rest. So a refund or a cancellation delivered before the paid
webhook ends as if it came after, and a replay finds its key and changes nothing.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select

from shopify_app.loyalty.credits import Credit, add_credits
from shopify_app.loyalty.ledger import add_points
from shopify_app.platform.extensions import db
from shopify_app.platform.models import Customer, Order, PointsEntry, ProgramSettings, Refund, Shop
from shopify_app.platform.money import exponent
from shopify_app.program.config import get_settings


def earn_for_paid_orders(shop: Shop, order_ids: list[int]) -> None:
    """orders/paid deliveries: each paid order earns once while the rule is on, net of the
    refunds and cancellation already recorded for it.

    Only orders/paid earns (not a later orders/updated of an old order), so turning the rule
    on rewards the orders paid from then on, not the store's history.
    """
    settings = get_settings(shop)
    if order_ids and settings.earn_orders and settings.earn_per_unit > 0:
        _settle(shop, order_ids, settings)


def reverse_order_points(shop: Shop, order_id: int) -> None:
    """refunds/create and orders/cancelled: take back the refund's share, or on cancellation
    all the order still holds. Earns nothing, and runs whether the rule is on or not."""
    _settle(shop, [order_id], None)


def order_points(settings: ProgramSettings, currency: str, subtotal_minor: int | None) -> int:
    """Points per whole unit of the shop currency: 1 per unit on 42.99 USD gives 42."""
    if not subtotal_minor or subtotal_minor <= 0:
        return 0
    return settings.earn_per_unit * (subtotal_minor // 10 ** exponent(currency))


@dataclass(frozen=True)
class _Removal:
    customer_id: int
    points: int
    source: str
    source_key: str
    description: str


def _settle(shop: Shop, order_ids: list[int], earning: ProgramSettings | None) -> None:
    """Bring each order's ledger rows to what the order's state calls for.

    `earning` is the settings when the orders may earn (orders/paid), None to reverse only.
    """
    orders = db.session.execute(
        select(Order).where(
            Order.shop_id == shop.id,
            Order.id.in_(set(order_ids)),
            Order.customer_id.is_not(None),
        )
    ).scalars()
    orders = sorted(orders, key=lambda o: o.id)
    if not orders:
        return
    refunds: defaultdict[int, list[Refund]] = defaultdict(list)
    for refund in db.session.execute(
        select(Refund)
        .where(Refund.shop_id == shop.id, Refund.order_id.in_([o.id for o in orders]))
        .order_by(Refund.shopify_id)
    ).scalars():
        refunds[refund.order_id].append(refund)
    keys = [k for o in orders for k in (_earn_key(o), _cancel_key(o))]
    keys += [_refund_key(r) for rs in refunds.values() for r in rs]
    held = dict(
        db.session.execute(
            select(PointsEntry.source_key, PointsEntry.delta).where(
                PointsEntry.shop_id == shop.id, PointsEntry.source_key.in_(keys)
            )
        ).all()
    )
    credits: list[Credit] = []
    removals: list[_Removal] = []
    for order in orders:
        earned = held.get(_earn_key(order))
        if earned is None:
            if earning is None or order.paid_at is None or order.cancelled_at is not None:
                continue  # nothing earned, so nothing to take back
            earned = order_points(earning, shop.currency, order.subtotal_minor)
            if earned <= 0:
                continue
            text = f"Order {_name(order)}"
            credits.append(Credit(order.customer_id, earned, "order", _earn_key(order), text))
        removals += _reversals(order, earned, refunds[order.id], held)
    add_credits(shop, credits)
    for removal in removals:
        customer = db.session.get(Customer, removal.customer_id)
        if customer is not None:
            add_points(
                shop,
                customer,
                -removal.points,
                description=removal.description,
                source=removal.source,
                source_key=removal.source_key,
                partial=True,  # points already spent stay spent: never below zero
            )


def _reversals(
    order: Order, earned: int, refunds: list[Refund], held: dict[str, int]
) -> list[_Removal]:
    """What the order's refunds and cancellation still have to take back of `earned`."""
    assert order.customer_id is not None
    left = earned + sum(held.get(_refund_key(r), 0) for r in refunds)
    if order.cancelled_at is not None:
        if _cancel_key(order) in held or left <= 0:
            return []
        return [
            _Removal(
                order.customer_id,
                left,
                "cancel",
                _cancel_key(order),
                f"Order {_name(order)} cancelled",
            )
        ]
    base = order.subtotal_minor or 0
    parts = [(r, _refunded_subtotal(r, order, base)) for r in refunds]
    whole = base <= 0 or sum(part for _, part in parts) >= base
    new = [(r, part) for r, part in parts if _refund_key(r) not in held]
    removals = []
    for index, (refund, part) in enumerate(new):
        # Each refund's share is its own, whatever came first; once the refunds cover the
        # whole order, the last one takes what is left, so nothing stays behind in rounding.
        last = index == len(new) - 1
        share = left if base <= 0 or (whole and last) else min(earned * part // base, left)
        if share > 0:
            removals.append(
                _Removal(
                    order.customer_id,
                    share,
                    "refund",
                    _refund_key(refund),
                    f"Refund on order {_name(order)}",
                )
            )
            left -= share
    return removals


def _refunded_subtotal(refund: Refund, order: Order, base: int) -> int:
    """The refund in subtotal terms: its line items, or for an amount only its share of the
    order's total applied to the subtotal."""
    if refund.subtotal_minor is not None:
        return refund.subtotal_minor
    if order.total_minor <= 0:
        return base
    return refund.amount_minor * base // order.total_minor


def _name(order: Order) -> str:
    return order.name or f"#{order.shopify_id}"


def _earn_key(order: Order) -> str:
    return f"order:{order.shopify_id}:earn"


def _cancel_key(order: Order) -> str:
    return f"order:{order.shopify_id}:cancel"


def _refund_key(refund: Refund) -> str:
    return f"refund:{refund.shopify_id}"
