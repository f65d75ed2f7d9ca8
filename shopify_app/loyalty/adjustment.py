"""Manual adjustments: the merchant adds or removes points by hand, with a note saying why.

The note becomes the ledger row's description, so the customer's history (and the shopper's
own page) explains the change. An adjustment counts as activity: it postpones expiry, as a
merchant's goodwill gesture should.
"""

from __future__ import annotations

from shopify_app.loyalty.ledger import NegativeBalance, add_points
from shopify_app.platform.models import Customer, PointsEntry, Shop


class NotEnoughPoints(ValueError):
    """The removal is larger than the customer's balance; nothing changed."""


def adjust_points(shop: Shop, customer: Customer, delta: int, note: str) -> PointsEntry:
    """Add (delta > 0) or remove (delta < 0) points with the note; never commits."""
    if delta == 0 or not note.strip():
        raise ValueError("an adjustment needs points and a note")
    try:
        entry = add_points(shop, customer, delta, description=note.strip(), source="manual")
    except NegativeBalance as error:
        raise NotEnoughPoints(
            f"{customer.display_name} has {customer.points_balance:,} points: "
            f"you can remove at most {customer.points_balance:,}."
        ) from error
    assert entry is not None  # no source key: never a repeat
    return entry
