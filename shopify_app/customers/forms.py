"""The "Add customer" form (WTForms): every field checked before anything is written."""

from __future__ import annotations

import re
from collections.abc import Mapping

from wtforms import Field, Form, StringField
from wtforms.validators import ValidationError

from shopify_app.customers.adding import NewCustomer, existing_customer_id
from shopify_app.loyalty.ledger import MAX_BALANCE
from shopify_app.platform.contact_fields import is_valid_email, normalize_locale
from shopify_app.platform.forms import MerchantForm, strip
from shopify_app.platform.models import Shop
from shopify_app.platform.models.segment import STATIC
from shopify_app.segments.store import segment_choices


def _at_most_255(form: Form, field: Field) -> None:
    if len(field.data or "") > 255:
        raise ValidationError("Use 255 characters or fewer.")


class NewCustomerForm(MerchantForm):
    """Email (unique in the shop), names, locale, starting points and a segment to join."""

    email = StringField(filters=[strip])
    first_name = StringField(filters=[strip], validators=[_at_most_255])
    last_name = StringField(filters=[strip], validators=[_at_most_255])
    locale = StringField(filters=[strip])
    points = StringField(filters=[strip])
    segment_id = StringField(filters=[strip])

    def __init__(self, formdata: Mapping[str, str], *, shop: Shop) -> None:
        super().__init__(formdata)
        self.shop = shop

    def validate_email(self, field: Field) -> None:
        email = field.data or ""
        if not email:
            raise ValidationError("Enter the customer's email address.")
        if not is_valid_email(email):
            raise ValidationError("Enter a valid email address, like name@example.com.")
        if existing_customer_id(self.shop, email) is not None:
            raise ValidationError("A customer with this email already exists.")

    def validate_locale(self, field: Field) -> None:
        locale = field.data or ""
        if locale and normalize_locale(locale) is None:
            raise ValidationError(
                "Use a language Shopify knows, as a code such as en, fr or pt-BR."
            )

    def validate_points(self, field: Field) -> None:
        text = (field.data or "").replace(",", "").replace("_", "")
        if text and not re.fullmatch(r"\d+", text):
            raise ValidationError("Starting points must be a whole number of 0 or more.")
        if text and int(text) > MAX_BALANCE:
            raise ValidationError(f"Starting points must be at most {MAX_BALANCE:,}.")

    def validate_segment_id(self, field: Field) -> None:
        text = field.data or ""
        if text and not (
            text.isdigit() and int(text) in {id_ for id_, _ in segment_choices(self.shop, STATIC)}
        ):
            raise ValidationError("Choose one of your segments.")

    def new_customer(self) -> NewCustomer:
        """The validated form (call after `validate()` returned True)."""
        points = (self.points.data or "").replace(",", "").replace("_", "")
        return NewCustomer(
            email=self.email.data,
            first_name=self.first_name.data or "",
            last_name=self.last_name.data or "",
            locale=normalize_locale(self.locale.data) if self.locale.data else None,
            points=int(points) if points else 0,
            segment_id=int(self.segment_id.data) if self.segment_id.data else None,
        )


class AdjustPointsForm(MerchantForm):
    """Add or remove a number of points, with the note the customer's history shows."""

    direction = StringField(filters=[strip])
    points = StringField(filters=[strip])
    note = StringField(filters=[strip])

    def validate_direction(self, field: Field) -> None:
        if field.data not in ("add", "remove"):
            raise ValidationError("Choose whether to add or remove points.")

    def validate_points(self, field: Field) -> None:
        text = (field.data or "").replace(",", "").replace("_", "")
        if not re.fullmatch(r"\d+", text) or int(text) == 0:
            raise ValidationError("Enter a whole number of points, 1 or more.")
        if int(text) > MAX_BALANCE:
            raise ValidationError(f"Enter at most {MAX_BALANCE:,} points.")

    def validate_note(self, field: Field) -> None:
        if not field.data:
            raise ValidationError("Add a note: the customer sees it in their points history.")
        if len(field.data) > 255:
            raise ValidationError("Use 255 characters or fewer.")

    def delta(self) -> int:
        """The signed change (call after `validate()` returned True)."""
        points = int((self.points.data or "").replace(",", "").replace("_", ""))
        return points if self.direction.data == "add" else -points
