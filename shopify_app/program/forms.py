"""The Program page's form: what the merchant typed, checked field by field (WTForms).

Amounts are read in the shop's currency with no more decimals than it has; the invitation copy
may only use the known placeholders. A valid form gives `SettingsChanges`, which
`config.apply_settings` writes; an invalid one gives a message per field and writes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
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


@dataclass(frozen=True)
class SettingsFormValues:
    """What the Program page shows: stored values in the units a merchant types."""

    referee_offer_type: str
    referee_offer_value: str
    reward_type: str
    reward_value: str
    min_order: str
    copies: dict[str, dict[str, str]]


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


class SettingsForm(MerchantForm):
    """The offer, the reward, the minimum order and the invitation copy per language."""

    referee_offer_type = StringField(filters=[strip])
    referee_offer_value = StringField(filters=[strip])
    reward_type = StringField(filters=[strip])
    reward_value = StringField(filters=[strip])
    min_order = StringField(filters=[strip])

    def __init__(self, formdata: Mapping[str, str], *, currency: str) -> None:
        super().__init__(formdata)
        self.currency = currency
        self.parsed: dict[str, int] = {}

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
        )


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
    )
