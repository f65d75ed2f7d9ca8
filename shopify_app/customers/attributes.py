"""A customer's imported attributes as the detail page shows them, each formatted by its type.

Numbers and dates read as the shop's locale writes them (Babel, as money does), times in the
shop's time zone, booleans as Yes/No. A value stored before its attribute had a type (an
older contacts import kept every cell as text) is formatted when it parses, shown as written
when it does not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal
from sqlalchemy import select

from shopify_app.platform.extensions import db
from shopify_app.platform.models import AttributeDefinition, Customer, Shop
from shopify_app.platform.models.people import BOOLEAN, DATE, NUMBER, TEXT


@dataclass(frozen=True)
class AttributeItem:
    name: str
    kind: str
    text: str


@lru_cache(maxsize=64)
def _locale(tag: str | None) -> Locale:
    try:
        return Locale.parse((tag or "en").replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        return Locale.parse("en")


def format_attribute(value: Any, kind: str, locale: str | None, zone: str | None) -> str:
    """One stored value as text in the shop's locale: "1,234.5", "Mar 1, 2026", "Yes"."""
    where = _locale(locale)
    if kind == BOOLEAN and isinstance(value, bool):
        return "Yes" if value else "No"
    if kind == NUMBER and not isinstance(value, bool):
        try:
            return format_decimal(Decimal(str(value)), locale=where)
        except InvalidOperation:
            return str(value)
    if kind == DATE and isinstance(value, str):
        try:
            if len(value) == 10:
                return format_date(date.fromisoformat(value), format="medium", locale=where)
            moment = datetime.fromisoformat(value)
            moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
            tz = ZoneInfo(zone or "UTC")
            return format_datetime(moment, format="medium", tzinfo=tz, locale=where)
        except ValueError:
            return value
    if isinstance(value, bool):
        return "Yes" if value else "No"
    return str(value)


def customer_attributes(shop: Shop, customer: Customer) -> list[AttributeItem]:
    """The customer's attributes in name order, typed by the shop's definitions (text if none)."""
    values = customer.attributes or {}
    if not values:
        return []
    kinds = dict(
        db.session.execute(
            select(AttributeDefinition.name, AttributeDefinition.kind).where(
                AttributeDefinition.shop_id == shop.id,
                AttributeDefinition.name.in_(sorted(values)),
            )
        ).all()
    )
    return [
        AttributeItem(
            name,
            kinds.get(name, TEXT),
            format_attribute(values[name], kinds.get(name, TEXT), shop.locale, shop.timezone),
        )
        for name in sorted(values, key=str.lower)
        if values[name] is not None
    ]
