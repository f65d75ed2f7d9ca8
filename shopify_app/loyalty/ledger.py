"""Points: every change is a ledger row and a balance update, in the caller's transaction."""

from __future__ import annotations

from sqlalchemy import update

from shopify_app.platform.extensions import db
from shopify_app.platform.models import Customer, PointsEntry, Shop

MAX_BALANCE = 10**12


class NegativeBalance(ValueError):
    """The change would take the customer's balance below zero."""


def add_points(
    shop: Shop,
    customer: Customer,
    delta: int,
    *,
    description: str = "",
    source: str = "manual",
    import_id: int | None = None,
    row_number: int | None = None,
) -> PointsEntry:
    """Add (or remove) points with a ledger row; raises NegativeBalance, never commits.

    The balance is changed with one guarded UPDATE, so concurrent writers cannot take it below
    zero between a read and a write.
    """
    if customer.shop_id != shop.id:
        raise ValueError("customer belongs to another shop")
    new_balance = db.session.execute(
        update(Customer)
        .where(
            Customer.id == customer.id,
            Customer.shop_id == shop.id,
            Customer.points_balance + delta >= 0,
        )
        .values(points_balance=Customer.points_balance + delta)
        .returning(Customer.points_balance)
    ).scalar_one_or_none()
    if new_balance is None:
        raise NegativeBalance(f"balance would go below zero ({customer.points_balance} {delta:+})")
    entry = PointsEntry(
        shop_id=shop.id,
        customer_id=customer.id,
        delta=delta,
        balance_after=new_balance,
        description=description[:255],
        source=source,
        import_id=import_id,
        row_number=row_number,
    )
    db.session.add(entry)
    customer.points_balance = new_balance
    return entry
