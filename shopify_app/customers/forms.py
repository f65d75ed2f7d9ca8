"""Adding a customer by hand: validate the merchant's form, then create the contact."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from shopify_app.loyalty.ledger import MAX_BALANCE, add_points
from shopify_app.platform.customer_store import email_fields, email_key
from shopify_app.platform.extensions import db
from shopify_app.platform.models import Customer, Segment, SegmentMember, Shop

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
LOCALE = re.compile(r"^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*$")


@dataclass(frozen=True)
class NewCustomer:
    email: str
    first_name: str
    last_name: str
    locale: str | None
    points: int
    segment_id: int | None


class DuplicateCustomer(ValueError):
    """A customer of this shop already has that email."""

    def __init__(self, customer_id: int) -> None:
        super().__init__("A customer with this email already exists.")
        self.customer_id = customer_id


def _existing_id(shop: Shop, email: str) -> int | None:
    return db.session.execute(
        select(Customer.id).where(
            Customer.shop_id == shop.id, Customer.email_key == email_key(email)
        )
    ).scalar_one_or_none()


def validate_new_customer(
    shop: Shop, form: Mapping[str, str]
) -> tuple[NewCustomer | None, dict[str, str]]:
    """The form's data, or a message per field; nothing is written."""
    errors: dict[str, str] = {}
    email = (form.get("email") or "").strip()
    if not email:
        errors["email"] = "Enter the customer's email address."
    elif len(email) > 320 or not EMAIL.match(email):
        errors["email"] = "Enter a valid email address, like name@example.com."
    elif _existing_id(shop, email) is not None:
        errors["email"] = "A customer with this email already exists."
    first_name = (form.get("first_name") or "").strip()
    last_name = (form.get("last_name") or "").strip()
    for key, value in (("first_name", first_name), ("last_name", last_name)):
        if len(value) > 255:
            errors[key] = "Use 255 characters or fewer."
    locale = (form.get("locale") or "").strip() or None
    if locale and (len(locale) > 16 or not LOCALE.match(locale)):
        errors["locale"] = "Use a language code like en, fr or pt-BR."
    points_text = (form.get("points") or "").strip().replace(",", "").replace("_", "")
    points = 0
    if points_text:
        if not re.fullmatch(r"\d+", points_text):
            errors["points"] = "Starting points must be a whole number of 0 or more."
        elif int(points_text) > MAX_BALANCE:
            errors["points"] = f"Starting points must be at most {MAX_BALANCE:,}."
        else:
            points = int(points_text)
    segment_id: int | None = None
    segment_text = (form.get("segment_id") or "").strip()
    if segment_text:
        segment_id = int(segment_text) if segment_text.isdigit() else None
        known = (
            segment_id is not None
            and db.session.execute(
                select(Segment.id).where(Segment.id == segment_id, Segment.shop_id == shop.id)
            ).scalar_one_or_none()
        )
        if not known:
            errors["segment_id"] = "Choose one of your segments."
    if errors:
        return None, errors
    return NewCustomer(email, first_name, last_name, locale, points, segment_id), {}


def add_customer_by_email(shop: Shop, data: NewCustomer) -> Customer:
    """Create the contact (a Guest until Shopify says otherwise); raises DuplicateCustomer.

    Starting points go through the ledger like any other change, so the history explains them.
    """
    customer = Customer(
        shop_id=shop.id,
        first_name=data.first_name,
        last_name=data.last_name,
        locale=data.locale,
        state="DISABLED",
        is_member=False,
        **email_fields(data.email),
    )
    try:
        with db.session.begin_nested():
            db.session.add(customer)
    except IntegrityError as error:
        existing = _existing_id(shop, data.email)
        if existing is None:
            raise
        raise DuplicateCustomer(existing) from error
    if data.points:
        add_points(shop, customer, data.points, description="Starting points", source="manual")
    if data.segment_id is not None:
        db.session.add(
            SegmentMember(segment_id=data.segment_id, customer_id=customer.id, shop_id=shop.id)
        )
    return customer


def segment_choices(shop: Shop) -> list[tuple[int, str]]:
    return [
        (row.id, row.name)
        for row in db.session.execute(
            select(Segment.id, Segment.name)
            .where(Segment.shop_id == shop.id)
            .order_by(Segment.name)
        )
    ]
