"""The dynamic segment editor's form: a name, all/any, and rows of conditions.

Each row names what it is about in one select (`status`, `points`, `event`,
`attribute:<name>`…), an operator and a value; a row left on "—" is dropped, so the page works
without JavaScript (it always shows one empty row to add a condition). Valid rows become the
stored rules `segments.rules` compiles; a bad row gets its own message and nothing is saved.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from wtforms import FieldList, Form, FormField, SelectField, StringField
from wtforms.validators import InputRequired, Length

from shopify_app.platform.forms import MerchantForm, strip
from shopify_app.platform.models import Shop
from shopify_app.platform.models.people import DATE, NUMBER
from shopify_app.platform.money import from_minor, to_minor
from shopify_app.segments.rules import ATTRIBUTE_OPS, FIELD_OPS, MATCHES, OPS, attribute_kinds

ATTRIBUTE_PREFIX = "attribute:"
MAX_RULES = 20
MAX_COUNT = 1_000_000_000
MAX_DAYS = 36_500
#: operators that take no value.
VALUELESS = {"members", "guests", "joined", "not_joined", "is_true", "is_false", "set", "not_set"}


class InvalidRule(ValueError):
    """One condition row cannot be used as it is; the message says how to fix it."""


class RuleRow(Form):
    what = StringField(filters=[strip])
    op = StringField(filters=[strip])
    value = StringField(filters=[strip])
    event = StringField(filters=[strip])
    times = StringField(filters=[strip])
    days = StringField(filters=[strip])


class SegmentRulesForm(MerchantForm):
    """All/any and the condition rows: what the live count reads (no name needed)."""

    match = SelectField(choices=list(MATCHES), default="all")
    rows = FieldList(FormField(RuleRow), max_entries=MAX_RULES + 1)

    def __init__(self, formdata: Mapping[str, str], *, shop: Shop) -> None:
        super().__init__(formdata)
        self.shop = shop
        self.rules: list[dict[str, Any]] = []
        self.row_errors: dict[int, str] = {}

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        kinds = attribute_kinds(self.shop)
        self.rules, self.row_errors = [], {}
        for index, row in enumerate(self.rows):
            if not row.what.data:
                continue
            try:
                self.rules.append(read_rule(row.data, kinds, self.shop.currency))
            except InvalidRule as error:
                self.row_errors[index] = str(error)
        if len(self.rules) > MAX_RULES:
            self.row_errors[MAX_RULES] = f"A segment has at most {MAX_RULES} conditions."
        return valid and not self.row_errors

    def field_errors(self) -> dict[str, str]:
        errors = super().field_errors()
        errors.pop("rows", None)
        errors.update({f"rows-{i}": message for i, message in self.row_errors.items()})
        return errors


class SegmentForm(SegmentRulesForm):
    name = StringField(
        filters=[strip],
        validators=[
            InputRequired("Give the segment a name."),
            Length(max=255, message="Segment names are at most 255 characters."),
        ],
    )


def _whole(text: str, label: str, *, minimum: int = 0, maximum: int = MAX_COUNT) -> int:
    if not text.lstrip("-").isdigit() or not minimum <= int(text) <= maximum:
        raise InvalidRule(f"{label} must be a whole number from {minimum:,} to {maximum:,}.")
    return int(text)


def read_rule(row: Mapping[str, str], kinds: Mapping[str, str], currency: str) -> dict[str, Any]:
    """One editor row as a stored rule; raises InvalidRule with what to fix."""
    what, op, value = row.get("what") or "", row.get("op") or "", row.get("value") or ""
    if what.startswith(ATTRIBUTE_PREFIX):
        return _attribute_rule(what.removeprefix(ATTRIBUTE_PREFIX), op, value, kinds)
    if what not in FIELD_OPS:
        raise InvalidRule("Choose what the condition is about.")
    if op not in FIELD_OPS[what]:
        choices = ", ".join(f"“{OPS[o]}”" for o in FIELD_OPS[what])
        raise InvalidRule(f"Choose one of {choices} for this condition.")
    if what in {"status", "program"}:
        return {"field": what, "op": op}
    if what == "event":
        return _event_rule(op, row)
    if what == "referrer_revenue":
        try:
            minor = to_minor(value, currency)
        except ValueError:
            raise InvalidRule("Enter an amount like 25 or 19.99.") from None
        if value == "" or minor < 0:
            raise InvalidRule("Enter an amount like 25 or 19.99.")
        return {"field": what, "op": op, "value": minor}
    label = "Points" if what == "points" else "Successful referrals"
    return {"field": what, "op": op, "value": _whole(value, label)}


def _event_rule(op: str, row: Mapping[str, str]) -> dict[str, Any]:
    name = row.get("event") or ""
    if not name:
        raise InvalidRule("Enter the event's name as the events import brings it (e.g. purchase).")
    if len(name) > 255:
        raise InvalidRule("Event names are at most 255 characters.")
    times = _whole(row.get("times") or "1", "At least … times", minimum=1)
    days = row.get("days") or ""
    return {
        "field": "event",
        "op": op,
        "name": name,
        "times": times,
        "days": _whole(days, "In the last … days", minimum=1, maximum=MAX_DAYS) if days else 0,
    }


def _attribute_rule(name: str, op: str, value: str, kinds: Mapping[str, str]) -> dict[str, Any]:
    if name not in kinds:
        raise InvalidRule(
            f"The attribute “{name}” no longer exists: choose another or remove the condition."
        )
    kind = kinds[name]
    if op not in ATTRIBUTE_OPS[kind]:
        choices = ", ".join(f"“{OPS[o]}”" for o in ATTRIBUTE_OPS[kind])
        raise InvalidRule(f"“{name}” is a {kind} attribute: choose one of {choices}.")
    rule: dict[str, Any] = {"field": "attribute", "name": name, "op": op}
    if op in VALUELESS:
        return rule
    if op == "within_days":
        rule["value"] = _whole(value, "Days", minimum=1, maximum=MAX_DAYS)
    elif kind == NUMBER:
        try:
            rule["value"] = float(value)
        except ValueError:
            raise InvalidRule(f"“{name}” is a number: enter a number like 3 or 4.5.") from None
    elif kind == DATE:
        try:
            rule["value"] = date.fromisoformat(value).isoformat()
        except ValueError:
            raise InvalidRule(f"“{name}” is a date: enter it as YYYY-MM-DD.") from None
    else:
        if not value:
            raise InvalidRule(f"Enter the text to compare “{name}” with.")
        rule["value"] = value[:255]
    return rule


def rule_rows(rules: list[dict[str, Any]] | None, currency: str) -> list[dict[str, str]]:
    """Stored rules as editor rows (the inverse of read_rule), for the edit page."""
    rows = []
    for rule in rules or []:
        kind = rule.get("field", "")
        row = {"what": kind, "op": str(rule.get("op", "")), "value": "", "event": ""}
        row.update(times="", days="")
        if kind == "attribute":
            row["what"] = ATTRIBUTE_PREFIX + str(rule.get("name", ""))
        if kind == "event":
            row.update(event=str(rule.get("name", "")), times=str(rule.get("times", 1)))
            row["days"] = str(rule.get("days") or "")
        elif kind == "referrer_revenue":
            row["value"] = str(from_minor(int(rule.get("value", 0)), currency))
        elif "value" in rule:
            row["value"] = _shown(rule)
        rows.append(row)
    return rows


def _shown(rule: dict[str, Any]) -> str:
    value = rule["value"]
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
