"""The rewards catalogue's form: what the merchant typed, checked field by field (WTForms).

Amounts are read in the shop's currency with no more decimals than it has (as on the Program
page); a valid form gives `RewardChanges`, an invalid one a message per field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from wtforms import Field, StringField
from wtforms.validators import ValidationError

from shopify_app.loyalty.catalogue import RewardChanges
from shopify_app.platform.forms import MerchantForm, strip
from shopify_app.platform.models import LoyaltyReward
from shopify_app.platform.money import decimal_text, exponent
from shopify_app.platform.shopify.discounts import FIXED_AMOUNT, PERCENTAGE, DiscountValue
from shopify_app.program.forms import parse_amount

MAX_TITLE = 120
MAX_POINTS = 10**9


@dataclass(frozen=True)
class RewardFormValues:
    """What the reward form shows: stored values in the units a merchant types."""

    title: str = ""
    points_cost: str = ""
    kind: str = FIXED_AMOUNT
    value: str = ""
    min_order: str = ""


class RewardForm(MerchantForm):
    """Title, points cost, amount or percentage off, and an optional minimum order."""

    title = StringField(filters=[strip])
    points_cost = StringField(filters=[strip])
    kind = StringField(filters=[strip])
    value = StringField(filters=[strip])
    min_order = StringField(filters=[strip])

    def __init__(self, formdata: Mapping[str, str], *, currency: str) -> None:
        super().__init__(formdata)
        self.currency = currency
        self.parsed: dict[str, int] = {}

    def validate_title(self, field: Field) -> None:
        if not field.data:
            raise ValidationError("Give the reward a name shoppers will recognise.")
        if len(field.data) > MAX_TITLE:
            raise ValidationError(f"Keep it under {MAX_TITLE} characters.")

    def validate_points_cost(self, field: Field) -> None:
        raw = (field.data or "").replace(",", "")
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_POINTS:
            raise ValidationError("Enter a whole number of points, 1 or more.")
        self.parsed["points_cost"] = int(raw)

    def validate_value(self, field: Field) -> None:
        kind, raw = self.kind.data, field.data or ""
        if kind not in (PERCENTAGE, FIXED_AMOUNT):
            raise ValidationError("Choose a percentage or a fixed amount.")
        if kind == PERCENTAGE:
            if not raw.isdigit() or not 1 <= int(raw) <= 100:
                raise ValidationError("Enter a whole percentage between 1 and 100.")
            self.parsed["value"] = int(raw)
            return
        minor = parse_amount(raw, self.currency)
        if minor is None or minor <= 0:
            raise ValidationError(f"Enter an amount greater than 0 in {self.currency}, e.g. 5.00.")
        self.parsed["value"] = minor

    def validate_min_order(self, field: Field) -> None:
        minor = parse_amount(field.data or "0", self.currency)
        if minor is None:
            raise ValidationError(f"Enter an amount of 0 or more in {self.currency}, e.g. 25.00.")
        self.parsed["min_order"] = minor

    def changes(self) -> RewardChanges:
        """The validated form in stored units (call after `validate()` returned True)."""
        return RewardChanges(
            title=self.title.data,
            points_cost=self.parsed["points_cost"],
            value=DiscountValue(self.kind.data, self.parsed["value"]),
            min_order_minor=self.parsed["min_order"],
        )

    def shown(self) -> RewardFormValues:
        """What the merchant typed, shown again next to the errors."""
        return RewardFormValues(
            title=self.title.data or "",
            points_cost=self.points_cost.data or "",
            kind=self.kind.data or FIXED_AMOUNT,
            value=self.value.data or "",
            min_order=self.min_order.data or "",
        )


def stored_values(reward: LoyaltyReward, currency: str) -> RewardFormValues:
    """A stored reward in the units the form shows."""
    digits = exponent(currency)
    return RewardFormValues(
        title=reward.title,
        points_cost=str(reward.points_cost),
        kind=reward.kind,
        value=(
            str(reward.value) if reward.kind == PERCENTAGE else decimal_text(reward.value, digits)
        ),
        min_order=decimal_text(reward.min_order_minor, digits) if reward.min_order_minor else "",
    )
