"""Dynamic segment rules, compiled to one SQL condition over `customers`.

A segment's rules are stored as the editor saves them (plain dicts, see `FIELDS` and `OPS`) and
become one WHERE clause: columns for Member/Guest, program status, points and referral stats;
the `customers.attributes` JSON, compared typed; event counts as an uncorrelated
`customer_id IN (… GROUP BY … HAVING count(*) >= N)` over the (shop_id, name, occurred_at)
index. Nothing is evaluated row by row in Python, and the same clause serves the count, the
member pages, the export and targeting, on PostgreSQL and SQLite alike.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    and_,
    case,
    cast,
    false,
    func,
    literal,
    or_,
    select,
    true,
)

from shopify_app.platform.db import is_postgresql, like_escaped
from shopify_app.platform.extensions import db
from shopify_app.platform.models import Customer, Shop
from shopify_app.platform.models.base import utcnow
from shopify_app.platform.models.people import (
    BOOLEAN,
    DATE,
    NUMBER,
    TEXT,
    AttributeDefinition,
    CustomerEvent,
)

#: what a condition is about, as the editor's first select names it.
FIELDS = {
    "status": "Shopify status",
    "program": "Program status",
    "points": "Points balance",
    "referrals": "Successful referrals",
    "referrer_revenue": "Referrer revenue",
    "attribute": "Imported attribute",
    "event": "Event",
}
#: every operator, with the words the editor shows.
OPS = {
    "members": "is a Member",
    "guests": "is a Guest",
    "joined": "has joined",
    "not_joined": "has not joined",
    "gte": "is at least",
    "lte": "is at most",
    "eq": "is",
    "contains": "contains",
    "before": "is before",
    "after": "is after",
    "within_days": "is within the last N days",
    "is_true": "is yes",
    "is_false": "is no",
    "set": "is set",
    "not_set": "is not set",
    "did": "did",
    "did_not": "did not do",
}
COMPARISONS = ("gte", "lte", "eq")
#: the operators each field (and each attribute kind) takes.
FIELD_OPS: dict[str, tuple[str, ...]] = {
    "status": ("members", "guests"),
    "program": ("joined", "not_joined"),
    "points": COMPARISONS,
    "referrals": COMPARISONS,
    "referrer_revenue": COMPARISONS,
    "event": ("did", "did_not"),
}
ATTRIBUTE_OPS: dict[str, tuple[str, ...]] = {
    NUMBER: (*COMPARISONS, "set", "not_set"),
    DATE: ("before", "after", "eq", "within_days", "set", "not_set"),
    BOOLEAN: ("is_true", "is_false", "set", "not_set"),
    TEXT: ("eq", "contains", "set", "not_set"),
}
MATCHES = {"all": "all of these conditions", "any": "any of these conditions"}
TRUE_WORDS = ("true", "1", "yes", "y")
FALSE_WORDS = ("false", "0", "no", "n")
#: digits with an optional sign and fraction: what a number attribute stored as text may be.
NUMERIC_TEXT = r"^\s*-?[0-9]+(\.[0-9]+)?\s*$"


def points_balance() -> ColumnElement[int]:
    """The customer's points balance, for rules: the one place they read where it is stored."""
    return Customer.points_balance


@dataclass(frozen=True)
class Compiled:
    """A segment's rules as one SQL condition, and what the merchant should know about them."""

    condition: ColumnElement[bool]
    #: conditions that match nobody and why (an attribute that no longer exists).
    problems: list[str] = field(default_factory=list)


def attribute_kinds(shop: Shop) -> dict[str, str]:
    """The shop's imported attributes and their kinds, by name."""
    rows = db.session.execute(
        select(AttributeDefinition.name, AttributeDefinition.kind)
        .where(AttributeDefinition.shop_id == shop.id)
        .order_by(AttributeDefinition.name)
    )
    return {name: kind for name, kind in rows}


def compile_rules(
    shop: Shop,
    rules: Sequence[Mapping[str, Any]] | None,
    match: str = "all",
    *,
    now: datetime | None = None,
) -> Compiled:
    """The rules as one condition on `Customer` (joined with all or any); no rules: everyone."""
    now = now or utcnow()
    kinds = attribute_kinds(shop) if any(r.get("field") == "attribute" for r in rules or ()) else {}
    problems: list[str] = []
    parts = [_condition(shop, rule, kinds, now, problems) for rule in rules or ()]
    if not parts:
        combined: ColumnElement[bool] = true()
    elif match == "any":
        combined = or_(*parts)
    else:
        combined = and_(*parts)
    return Compiled(and_(Customer.shop_id == shop.id, combined), problems)


def _condition(
    shop: Shop, rule: Mapping[str, Any], kinds: Mapping[str, str], now: datetime, problems: list
) -> ColumnElement[bool]:
    kind, op = rule.get("field"), rule.get("op")
    if kind == "status":
        return Customer.is_member.is_(op == "members")
    if kind == "program":
        return Customer.joined_at.is_not(None) if op == "joined" else Customer.joined_at.is_(None)
    if kind == "points":
        return _compare(points_balance(), op, int(rule["value"]))
    if kind == "referrals":
        return _compare(Customer.successful_referrals, op, int(rule["value"]))
    if kind == "referrer_revenue":
        return _compare(Customer.referrer_revenue_minor, op, int(rule["value"]))
    if kind == "event":
        return _event(shop, rule, now)
    if kind == "attribute":
        name = str(rule.get("name", ""))
        if name not in kinds:
            problems.append(
                f"The attribute “{name}” no longer exists (no import brings it any more), "
                "so its condition matches nobody. Edit the segment to change or remove it."
            )
            return false()
        if op not in ATTRIBUTE_OPS[kinds[name]]:
            problems.append(
                f"“{name}” is now a {kinds[name]} attribute: its condition matches "
                "nobody until you choose a comparison that fits."
            )
            return false()
        return _attribute(name, kinds[name], op, rule.get("value"), now)
    problems.append("A condition of an unknown kind matches nobody.")
    return false()


def _compare(column: Any, op: str, value: Any) -> ColumnElement[bool]:
    if op == "gte":
        return column >= value
    if op == "lte":
        return column <= value
    return column == value


def _event(shop: Shop, rule: Mapping[str, Any], now: datetime) -> ColumnElement[bool]:
    """Did (or did not) do the event at least N times in the last D days.

    Uncorrelated, so PostgreSQL reads the (shop_id, name, occurred_at) range once and
    semi-joins (or anti-joins) it to the customers, whatever their number.
    """
    times, days = int(rule.get("times") or 1), int(rule.get("days") or 0)
    who = select(CustomerEvent.customer_id).where(
        CustomerEvent.shop_id == shop.id, CustomerEvent.name == str(rule["name"])
    )
    if days:
        who = who.where(CustomerEvent.occurred_at >= now - timedelta(days=days))
    if times > 1:
        who = who.group_by(CustomerEvent.customer_id).having(func.count() >= times)
    did = Customer.id.in_(who)
    return did if rule.get("op") == "did" else ~did


def _attribute_text(name: str) -> ColumnElement[str]:
    """The attribute's value as text (`->>` on PostgreSQL, JSON_EXTRACT on SQLite)."""
    return Customer.attributes[name].as_string()


def _attribute_number(name: str) -> ColumnElement[float]:
    """The attribute as a number, NULL when it holds anything else (never a cast error)."""
    text = _attribute_text(name)
    if is_postgresql():
        return case((text.regexp_match(NUMERIC_TEXT), cast(text, Float)), else_=None)
    kind = func.json_type(Customer.attributes, f'$."{name}"')
    numeric_text = and_(
        kind == "text", func.trim(text) != "", ~func.trim(text).op("GLOB")("*[^0-9.-]*")
    )
    return case((or_(kind.in_(("integer", "real")), numeric_text), cast(text, Float)), else_=None)


def _attribute(name: str, kind: str, op: str, value: Any, now: datetime) -> ColumnElement[bool]:
    text = _attribute_text(name)
    if op == "set":
        return and_(text.is_not(None), text != "")
    if op == "not_set":
        return or_(text.is_(None), text == "")
    if kind == NUMBER:
        return _compare(_attribute_number(name), op, float(value))
    if kind == DATE:
        day = func.substr(text, 1, 10)
        if op == "within_days":
            since = (now.date() - timedelta(days=int(value))).isoformat()
            return and_(day >= since, day <= now.date().isoformat())
        iso = date.fromisoformat(str(value)).isoformat()
        return {"before": day < iso, "after": day > iso}.get(op, day == iso)
    if kind == BOOLEAN:
        words = TRUE_WORDS if op == "is_true" else FALSE_WORDS
        return func.lower(text).in_(words)
    lowered = func.lower(func.trim(text))
    needle = str(value or "").strip().lower()
    if op == "contains":
        return lowered.like(literal("%" + like_escaped(needle) + "%"), escape="\\")
    return lowered == needle
