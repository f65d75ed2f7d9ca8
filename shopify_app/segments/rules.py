"""Dynamic segment rules, compiled to one SQL condition over `customers`.

A segment's rules are stored as the editor saves them (plain dicts, see `FIELDS` and `OPS`) and
become one WHERE clause: columns for Member/Guest, program status, points and referral stats;
the `customers.attributes` JSON, compared typed; and events. Nothing is evaluated row by row in
Python, on PostgreSQL and SQLite alike.

Events take one of two shapes, for the two ways the clause is used. Counting, exporting and
targeting want every member: the event's customers are computed once, set-wise, from the
(shop_id, name, occurred_at) index (`GROUP BY … HAVING count(*) >= N`), and the customers
they name are looked up by id. A member page wants 50 members in the table's order: it walks
the sort's index and checks each customer's own events on the (customer_id, occurred_at)
index (`per_row=True`), so a page costs what it shows, not the whole segment.
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
    any_,
    case,
    cast,
    exists,
    false,
    func,
    literal,
    or_,
    select,
    true,
)

from shopify_app.platform.db import is_postgresql, like_escaped
from shopify_app.platform.extensions import db
from shopify_app.platform.models import Customer, PointBalance, Shop
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
    """The customer's points balance, for rules: the one place they read where it is stored
    (the narrow balance table, one primary-key probe per customer)."""
    return func.coalesce(
        select(PointBalance.balance)
        .where(PointBalance.customer_id == Customer.id)
        .correlate_except(PointBalance)  # the table's query may join balances itself
        .scalar_subquery(),
        0,
    )


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
    per_row: bool = False,
) -> Compiled:
    """The rules as one condition on `Customer` (joined with all or any); no rules: everyone.

    Args:
        per_row: the shape for a page of members in a sort order (see the module's doc).
    """
    now = now or utcnow()
    kinds = attribute_kinds(shop) if any(r.get("field") == "attribute" for r in rules or ()) else {}
    problems: list[str] = []
    shape = "row" if per_row else ("any" if match == "any" else "all")
    rules = list(rules or ())
    if per_row and match != "any":
        # "Did EVENT" is the cheap, selective check per customer: first (see below).
        rules.sort(key=lambda rule: not (rule.get("field") == "event" and rule.get("op") == "did"))
    parts = [_condition(shop, rule, kinds, now, problems, shape) for rule in rules]
    if not parts:
        combined: ColumnElement[bool] = true()
    elif match == "any":
        combined = or_(*parts)
    elif per_row and len(parts) > 1 and rules[0].get("field") == "event":
        # PostgreSQL orders a WHERE's terms by its cost guesses, which put the JSON attribute
        # tests before an event subquery; a CASE keeps the order, so a member page parses the
        # attributes of the few customers who did the event only (bench_segments.py: a
        # page's query went from 57 to 39 ms).
        combined = case((parts[0], and_(*parts[1:])), else_=false())
    else:
        combined = and_(*parts)
    return Compiled(and_(Customer.shop_id == shop.id, combined), problems)


def _condition(
    shop: Shop,
    rule: Mapping[str, Any],
    kinds: Mapping[str, str],
    now: datetime,
    problems: list,
    shape: str,
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
        return _event(shop, rule, now, shape)
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


def _event(shop: Shop, rule: Mapping[str, Any], now: datetime, shape: str) -> ColumnElement[bool]:
    """Did (or did not) do the event at least N times in the last D days.

    Set-wise, the customers who did are one index-only scan and a GROUP BY; under "all" on
    PostgreSQL they become `id = ANY(ARRAY(…))`, which the planner serves from the primary
    key whatever it guesses of the group count (an IN join's guess led it to read every
    customer), and under "any" (an OR) or "did not" a hashed `IN`. Per row (`shape` "row"), a
    customer's own events are counted on the (customer_id, occurred_at) index.
    """
    times, days = int(rule.get("times") or 1), int(rule.get("days") or 0)
    scope = [CustomerEvent.shop_id == shop.id, CustomerEvent.name == str(rule["name"])]
    if days:
        scope.append(CustomerEvent.occurred_at >= now - timedelta(days=days))
    did_not = rule.get("op") != "did"
    if shape == "row":
        own = CustomerEvent.customer_id == Customer.id
        if times == 1:
            did = exists().where(own, *scope)
        else:
            did = select(func.count()).where(own, *scope).scalar_subquery() >= times
        return ~did if did_not else did
    who = select(CustomerEvent.customer_id).where(*scope)
    if times > 1:
        who = who.group_by(CustomerEvent.customer_id).having(func.count() >= times)
    if did_not:
        return ~Customer.id.in_(who)
    if shape == "all" and is_postgresql():
        return Customer.id == any_(func.array(who.scalar_subquery()))
    return Customer.id.in_(who)


def _attribute_text(name: str) -> ColumnElement[str]:
    """The attribute's value as text (`->>` on PostgreSQL, JSON_EXTRACT on SQLite)."""
    return Customer.attributes[name].as_string()


def _attribute_number(name: str) -> ColumnElement[float]:
    """The attribute as a number, NULL when it holds anything else (never a cast error).

    JSON numbers are cast straight away; text is cast only when it reads as a number ("3"),
    so the common case costs no pattern match.
    """
    text = _attribute_text(name)
    if is_postgresql():
        kind = func.json_typeof(Customer.attributes[name])
        numeric = and_(kind == "string", text.regexp_match(NUMERIC_TEXT))
        return case((kind == "number", cast(text, Float)), (numeric, cast(text, Float)))
    kind = func.json_type(Customer.attributes, f'$."{name}"')
    trimmed = func.trim(text)
    numeric_text = and_(kind == "text", trimmed != "", ~trimmed.op("GLOB")("*[^0-9.-]*"))
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
