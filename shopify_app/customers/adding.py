"""Adding a customer by hand: the contact is created as a Guest until Shopify says otherwise."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from shopify_app.loyalty.ledger import add_points
from shopify_app.platform.customer_store import email_fields, email_key
from shopify_app.platform.extensions import db
from shopify_app.platform.models import Customer, SegmentMember, Shop


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


def existing_customer_id(shop: Shop, email: str) -> int | None:
    """The shop's customer with this email (compared as Shopify does), if any."""
    return db.session.execute(
        select(Customer.id).where(
            Customer.shop_id == shop.id, Customer.email_key == email_key(email)
        )
    ).scalar_one_or_none()


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
        existing = existing_customer_id(shop, data.email)
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
