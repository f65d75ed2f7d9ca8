"""A customer's events (from events imports), newest first, a page at a time.

A customer can have tens of thousands of events, so the page reads one keyset page from the
(customer, time) index and never counts them all; "Older events" continues after the last.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select

from shopify_app.platform.extensions import db
from shopify_app.platform.models import CustomerEvent, Shop

EVENTS_PAGE = 25
#: characters of an event's details shown in its row; the rest is in the title attribute.
DETAILS_CHARS = 140


@dataclass(frozen=True)
class EventItem:
    id: int
    occurred_at: datetime
    name: str
    #: `product: Linen shirt · rating: 5`, shortened to DETAILS_CHARS.
    details: str
    #: every property, for the row's tooltip.
    full_details: str


@dataclass(frozen=True)
class EventsPage:
    items: list[EventItem]
    #: the event id to pass as `events_before` for the next (older) page, or None at the end.
    older_before: int | None


def _details(properties: dict[str, Any] | None) -> str:
    if not properties:
        return ""
    return " · ".join(
        f"{key}: {value if isinstance(value, str) else json.dumps(value)}"
        for key, value in sorted(properties.items())
    )


def events_of(shop: Shop, customer_id: int, *, before: int | None = None) -> EventsPage:
    """One page of the customer's events, newest first (ties by id), older than `before`."""
    query = (
        select(
            CustomerEvent.id,
            CustomerEvent.occurred_at,
            CustomerEvent.name,
            CustomerEvent.properties,
        )
        .where(CustomerEvent.shop_id == shop.id, CustomerEvent.customer_id == customer_id)
        .order_by(CustomerEvent.occurred_at.desc(), CustomerEvent.id.desc())
        .limit(EVENTS_PAGE + 1)
    )
    if before is not None:
        at = db.session.execute(
            select(CustomerEvent.occurred_at).where(
                CustomerEvent.shop_id == shop.id,
                CustomerEvent.customer_id == customer_id,
                CustomerEvent.id == before,
            )
        ).scalar_one_or_none()
        if at is not None:
            query = query.where(
                or_(
                    CustomerEvent.occurred_at < at,
                    and_(CustomerEvent.occurred_at == at, CustomerEvent.id < before),
                )
            )
    rows = db.session.execute(query).all()
    items = []
    for event_id, occurred_at, name, properties in rows[:EVENTS_PAGE]:
        full = _details(properties)
        short = full if len(full) <= DETAILS_CHARS else full[: DETAILS_CHARS - 1] + "…"
        items.append(EventItem(event_id, occurred_at, name, short, full))
    older = items[-1].id if len(rows) > EVENTS_PAGE else None
    return EventsPage(items, older)
