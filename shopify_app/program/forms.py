"""The Program page's form: what the merchant typed, checked field by field (WTForms).

Amounts are read in the shop's currency with no more decimals than it has; the invitation copy
may only use the known placeholders; points are whole numbers within bounds. A valid form
gives `SettingsChanges`, which `config.apply_settings` writes; an invalid one gives a message
per field and writes nothing. `flask program set` fills the same form from the stored values
and the given keys, so the terminal validates exactly as the page does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from wtforms import Field, Form, StringField, TextAreaField
from wtforms.validators import ValidationError

from shopify_app.platform.forms import MerchantForm, strip
from shopify_app.platform.models import ProgramSettings, Shop
from shopify_app.platform.money import decimal_text, exponent, to_minor
from shopify_app.platform.shopify.discounts import FIXED_AMOUNT, PERCENTAGE, DiscountValue
from shopify_app.program.config import (
    BRACES,
    EMAIL_LANGUAGES,
    MAX_BODY,
    MAX_SUBJECT,
    PLACEHOLDERS,
    SettingsChanges,
    email_copy,
)

MAX_POINTS = 1_000_000
MAX_EVENTS = 100
MONTHS = (1, 120)
REMINDER_DAYS = (0, 90)
#: the shortest month: a reminder must come before even the shortest expiry period.
DAYS_PER_MONTH = 28
EVENT_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")
#: the loyalty rules' switches and their values, as the page and `program show` name them.
SWITCHES = ("earn_orders", "earn_account", "earn_referral", "earn_events", "expiry")
POINT_FIELDS = ("earn_per_unit", "account_points", "referrer_points", "referee_points")
LOYALTY_FIELDS = (
    "earn_orders",
    "earn_per_unit",
    "earn_account",
    "account_points",
    "earn_referral",
    "referrer_points",
    "referee_points",
    "earn_events",
    "event_points",
    "expiry",
    "expiry_months",
    "expiry_reminder_days",
)
ON, OFF = "on", "off"
_TRUE = frozenset({"1", "on", "true", "yes", "y"})
_FALSE = frozenset({"0", "off", "false", "no", "n", ""})


@dataclass(frozen=True)
class SettingsFormValues:
    """What the Program page shows: stored values in the units a merchant types."""

    referee_offer_type: str
    referee_offer_value: str
    reward_type: str
    reward_value: str
    min_order: str
    copies: dict[str, dict[str, str]]
    #: the loyalty rules by field name: switches as "on"/"off", numbers and the event list
    #: as text ("review_posted = 50" lines).
    loyalty: dict[str, str] = field(default_factory=dict)


def parse_amount(raw: str, currency: str) -> int | None:
    """A decimal amount with no more precision than the currency has; None when invalid."""
    text = (raw or "").strip().replace(",", ".")
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    if not value.is_finite() or value < 0 or value.as_tuple().exponent < -exponent(currency):
        return None
    if value >= Decimal(10) ** 12:
        return None
    return to_minor(value, currency)


def _major(minor: int, currency: str) -> str:
    return decimal_text(minor, exponent(currency))


def _copy_check(limit: int):
    def check(form: Form, field: Field) -> None:
        text = field.data or ""
        if not text.strip():
            raise ValidationError("This can't be blank.")
        if len(text) > limit:
            raise ValidationError(f"Keep it under {limit:,} characters.")
        unknown = sorted({m for m in BRACES.findall(text) if m not in PLACEHOLDERS})
        if unknown:
            names = ", ".join("{" + u + "}" for u in unknown)
            raise ValidationError(
                f"Unknown placeholder {names}. Use: "
                + ", ".join("{" + p + "}" for p in PLACEHOLDERS)
            )

    return check


def _body(value: Any) -> Any:
    """Bodies keep their lines (CRLF from browsers read as LF) and end with one newline."""
    return value.replace("\r\n", "\n").strip() + "\n" if isinstance(value, str) else value


class SwitchField(Field):
    """A rule's on/off: a checkbox posted after its hidden "off" (so the last value counts,
    and an unticked box still says off), or on/off, yes/no, true/false, 1/0 typed in a terminal."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.typed = str(valuelist[-1]).strip().lower() if valuelist else None
        self.data = None if self.typed is None else self.typed in _TRUE

    def pre_validate(self, form: Form) -> None:
        if self.typed is not None and self.typed not in _TRUE | _FALSE:
            raise ValidationError("Choose on or off.")


def parse_event_points(text: str) -> tuple[dict[str, int], str | None]:
    """ "review_posted = 50" per line (commas or semicolons also separate): {name: points},
    or the first problem, naming its line."""
    events: dict[str, int] = {}
    entries = [e.strip() for e in re.split(r"[\n,;]", text or "")]
    for number, entry in enumerate((e for e in entries if e), start=1):
        name, sep, points = (part.strip() for part in entry.partition("="))
        name = name.lower()
        if not sep or not EVENT_NAME.fullmatch(name) or not points.isdigit():
            return {}, (
                f"Entry {number} ({entry[:40]}): write each as event_name = points, "
                "e.g. review_posted = 50 (letters, digits and _ in the name)."
            )
        if name in events:
            return {}, f"{name} is listed twice; keep one line for it."
        if not 1 <= int(points) <= MAX_POINTS:
            return {}, f"{name}: give it 1 to {MAX_POINTS:,} points."
        events[name] = int(points)
    if len(events) > MAX_EVENTS:
        return {}, f"List at most {MAX_EVENTS} events."
    return events, None


def event_points_text(events: Mapping[str, int] | None, separator: str = "\n") -> str:
    return separator.join(f"{name} = {points}" for name, points in (events or {}).items())


def _whole(low: int, high: int, message: str):
    """A whole number from low to high; a field the post does not carry is left as stored."""

    def check(form: SettingsForm, field: Field) -> None:
        if not field.raw_data:
            return
        raw = (field.data or "").replace(",", "").replace("_", "")
        if not raw.isdigit() or not low <= int(raw) <= high:
            raise ValidationError(message)
        form.loyalty[field.name] = int(raw)

    return check


def _switch(form: SettingsForm, field: Field) -> None:
    if field.data is not None:
        form.loyalty[field.name] = field.data


def _events(form: SettingsForm, field: Field) -> None:
    if not field.raw_data:
        return
    events, problem = parse_event_points(field.data or "")
    if problem:
        raise ValidationError(problem)
    form.loyalty[field.name] = events or None


_POINTS_MESSAGE = f"Enter a whole number of points from 0 to {MAX_POINTS:,}."


class SettingsForm(MerchantForm):
    """The offer, the reward, the minimum order, the invitation copy per language, and the
    loyalty rules. A loyalty field the post does not carry keeps its stored value."""

    referee_offer_type = StringField(filters=[strip])
    referee_offer_value = StringField(filters=[strip])
    reward_type = StringField(filters=[strip])
    reward_value = StringField(filters=[strip])
    min_order = StringField(filters=[strip])

    earn_orders = SwitchField(validators=[_switch])
    earn_per_unit = StringField(
        filters=[strip], validators=[_whole(0, MAX_POINTS, _POINTS_MESSAGE)]
    )
    earn_account = SwitchField(validators=[_switch])
    account_points = StringField(
        filters=[strip], validators=[_whole(0, MAX_POINTS, _POINTS_MESSAGE)]
    )
    earn_referral = SwitchField(validators=[_switch])
    referrer_points = StringField(
        filters=[strip], validators=[_whole(0, MAX_POINTS, _POINTS_MESSAGE)]
    )
    referee_points = StringField(
        filters=[strip], validators=[_whole(0, MAX_POINTS, _POINTS_MESSAGE)]
    )
    earn_events = SwitchField(validators=[_switch])
    event_points = TextAreaField(validators=[_events])
    expiry = SwitchField(validators=[_switch])
    expiry_months = StringField(
        filters=[strip],
        validators=[
            _whole(*MONTHS, f"Enter a whole number of months from {MONTHS[0]} to {MONTHS[1]}.")
        ],
    )
    expiry_reminder_days = StringField(
        filters=[strip],
        validators=[
            _whole(*REMINDER_DAYS, f"Enter a whole number of days from 0 to {REMINDER_DAYS[1]}.")
        ],
    )

    def __init__(self, formdata: Mapping[str, str], *, currency: str) -> None:
        super().__init__(formdata)
        self.currency = currency
        self.parsed: dict[str, int] = {}
        #: the loyalty fields the post carried, valid, in stored form (column name → value).
        self.loyalty: dict[str, Any] = {}

    def validate(self, extra_validators: Any = None) -> bool:
        """Every field, then the one rule across two: the reminder comes before the expiry."""
        valid = super().validate(extra_validators)
        months = self.loyalty.get("expiry_months")
        days = self.loyalty.get("expiry_reminder_days")
        if months is not None and days is not None and days >= months * DAYS_PER_MONTH:
            self.expiry_reminder_days.errors.append(
                f"Send the reminder fewer days ahead than the expiry period ({months} "
                f"month{'s' if months > 1 else ''}): at most {months * DAYS_PER_MONTH - 1}."
            )
            return False
        return valid

    def _value(self, kind_field: Field, field: Field) -> None:
        kind, raw = kind_field.data, field.data or ""
        if kind not in (PERCENTAGE, FIXED_AMOUNT):
            raise ValidationError("Choose a percentage or a fixed amount.")
        if kind == PERCENTAGE:
            if not raw.isdigit() or not 1 <= int(raw) <= 100:
                raise ValidationError("Enter a whole percentage between 1 and 100.")
            self.parsed[field.name] = int(raw)
            return
        minor = parse_amount(raw, self.currency)
        if minor is None or minor <= 0:
            raise ValidationError(f"Enter an amount greater than 0 in {self.currency}, e.g. 10.00.")
        self.parsed[field.name] = minor

    def validate_referee_offer_value(self, field: Field) -> None:
        self._value(self.referee_offer_type, field)

    def validate_reward_value(self, field: Field) -> None:
        self._value(self.reward_type, field)

    def validate_min_order(self, field: Field) -> None:
        minor = parse_amount(field.data or "0", self.currency)
        if minor is None:
            raise ValidationError(f"Enter an amount of 0 or more in {self.currency}, e.g. 25.00.")
        self.parsed[field.name] = minor

    def changes(self) -> SettingsChanges:
        """The validated form in stored units (call after `validate()` returned True)."""
        return SettingsChanges(
            referee_offer=DiscountValue(
                self.referee_offer_type.data, self.parsed["referee_offer_value"]
            ),
            reward=DiscountValue(self.reward_type.data, self.parsed["reward_value"]),
            min_order_minor=self.parsed["min_order"],
            copies={
                language: (self[f"subject_{language}"].data, self[f"body_{language}"].data)
                for language in EMAIL_LANGUAGES
            },
            loyalty=dict(self.loyalty),
        )

    def shown(self) -> SettingsFormValues:
        """What the merchant typed, shown again next to the errors."""
        raw = self.data
        return SettingsFormValues(
            referee_offer_type=raw["referee_offer_type"] or "",
            referee_offer_value=raw["referee_offer_value"] or "",
            reward_type=raw["reward_type"] or "",
            reward_value=raw["reward_value"] or "",
            min_order=raw["min_order"] or "",
            copies={
                language: {
                    "subject": raw[f"subject_{language}"] or "",
                    "body": raw[f"body_{language}"] or "",
                }
                for language in EMAIL_LANGUAGES
            },
            loyalty={name: self._typed(name) for name in LOYALTY_FIELDS},
        )

    def _typed(self, name: str) -> str:
        field = self[name]
        if isinstance(field, SwitchField):
            return field.typed if field.data is None else (ON if field.data else OFF)
        return field.data or ""


for _language in EMAIL_LANGUAGES:
    setattr(
        SettingsForm,
        f"subject_{_language}",
        StringField(filters=[strip], validators=[_copy_check(MAX_SUBJECT)]),
    )
    setattr(
        SettingsForm,
        f"body_{_language}",
        TextAreaField(filters=[_body], validators=[_copy_check(MAX_BODY)]),
    )


def stored_values(shop: Shop, settings: ProgramSettings) -> SettingsFormValues:
    """The stored settings in the units the page shows."""
    currency = shop.currency

    def shown(kind: str, value: int) -> str:
        return str(value) if kind == PERCENTAGE else _major(value, currency)

    copies = {}
    for language in EMAIL_LANGUAGES:
        subject, body = email_copy(shop, settings, language)
        copies[language] = {"subject": subject, "body": body}
    return SettingsFormValues(
        referee_offer_type=settings.referee_offer_type,
        referee_offer_value=shown(settings.referee_offer_type, settings.referee_offer_value),
        reward_type=settings.reward_type,
        reward_value=shown(settings.reward_type, settings.reward_value),
        min_order=_major(settings.min_order_minor, currency),
        copies=copies,
        loyalty=stored_loyalty(settings),
    )


def stored_loyalty(settings: ProgramSettings) -> dict[str, str]:
    """The stored loyalty rules as the form's text, by field name."""
    values = {name: ON if getattr(settings, name) else OFF for name in SWITCHES}
    for name in (*POINT_FIELDS, "expiry_months", "expiry_reminder_days"):
        values[name] = str(getattr(settings, name))
    values["event_points"] = event_points_text(settings.event_points)
    return {name: values[name] for name in LOYALTY_FIELDS}


def settings_formdata(values: SettingsFormValues) -> dict[str, str]:
    """Every field of the form with its value: what `program show` prints and `program set`
    starts from."""
    data = {
        "referee_offer_type": values.referee_offer_type,
        "referee_offer_value": values.referee_offer_value,
        "reward_type": values.reward_type,
        "reward_value": values.reward_value,
        "min_order": values.min_order,
    }
    for language in EMAIL_LANGUAGES:
        data[f"subject_{language}"] = values.copies[language]["subject"]
        data[f"body_{language}"] = values.copies[language]["body"]
    return {**data, **values.loyalty}
