"""Adding a customer by email: a valid form creates the contact; a bad one explains and keeps it."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from shopify_app.platform.extensions import db
from shopify_app.platform.models import Customer, PointsEntry, Segment, SegmentMember
from tests.factories import make_customer
from tests.helpers import make_shop


def _customers(shop) -> list[Customer]:
    db.session.expire_all()
    return db.session.execute(select(Customer).where(Customer.shop_id == shop.id)).scalars().all()


def test_new_page_opens_the_modal_form(admin):
    html = admin.get("/customers/new").get_data(as_text=True)
    assert 'id="add-customer"' in html and "data-open-on-load" in html
    assert 'name="email"' in html and 'name="points"' in html


def test_valid_form_creates_a_guest_with_points_in_the_ledger_and_segment(admin, shop):
    segment = Segment(shop_id=shop.id, name="VIP")
    db.session.add(segment)
    db.session.commit()
    response = admin.post(
        "/customers/new",
        {
            "email": "  Ada@Example.com ",
            "first_name": "Ada",
            "last_name": "Lovelace",
            "locale": "fr-CA",
            "points": "1,250",
            "segment_id": str(segment.id),
        },
    )
    assert response.status_code == 302
    [customer] = _customers(shop)
    assert response.headers["Location"].startswith(f"/customers/{customer.id}?")
    assert (customer.email, customer.email_key, customer.is_member, customer.locale) == (
        "Ada@Example.com",
        "ada@example.com",
        False,
        "fr-CA",
    )
    assert customer.points_balance == 1250
    entry = db.session.execute(select(PointsEntry)).scalar_one()
    assert (entry.delta, entry.balance_after, entry.description) == (1250, 1250, "Starting points")
    assert db.session.execute(select(SegmentMember.customer_id)).scalar_one() == customer.id
    detail = admin.get(response.headers["Location"].split("?")[0]).get_data(as_text=True)
    assert "Ada Lovelace" in detail and "was added" in detail


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"email": ""}, "email", "Enter the customer&#39;s email address."),
        ({"email": "not-an-email"}, "email", "Enter a valid email address"),
        ({"email": "a@b.example", "points": "-5"}, "points", "whole number of 0 or more"),
        ({"email": "a@b.example", "points": "1.5"}, "points", "whole number of 0 or more"),
        ({"email": "a@b.example", "points": "10000000000000"}, "points", "at most"),
        ({"email": "a@b.example", "locale": "<script>"}, "locale", "such as en, fr or pt-BR"),
        # Well-formed but no language Shopify knows: the contacts import refuses it too.
        ({"email": "a@b.example", "locale": "xx-YY"}, "locale", "a language Shopify knows"),
        ({"email": "a@b.example", "locale": "english"}, "locale", "a language Shopify knows"),
        ({"email": "a@b..example"}, "email", "Enter a valid email address"),
        ({"email": "a@b.example", "first_name": "x" * 256}, "first_name", "255 characters"),
        ({"email": "a@b.example", "segment_id": "999999"}, "segment_id", "Choose one of"),
    ],
)
def test_invalid_form_says_why_keeps_the_input_and_adds_nothing(admin, shop, form, field, message):
    response = admin.post("/customers/new", form)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html
    assert f'id="field-{field}-error"' in html
    assert "data-open-on-load" in html
    if form.get("email"):
        assert f'value="{form["email"]}"' in html
    assert _customers(shop) == []
    assert db.session.execute(select(func.count()).select_from(PointsEntry)).scalar_one() == 0


def test_existing_email_in_any_case_is_refused(admin, shop):
    make_customer(shop, email="grace@example.com")
    db.session.commit()
    response = admin.post("/customers/new", {"email": "GRACE@example.com "})
    assert response.status_code == 422
    assert "already exists" in response.get_data(as_text=True)
    assert len(_customers(shop)) == 1


def test_another_shops_segment_or_email_does_not_count(admin, shop, shopify_double):
    other = make_shop(shopify_double, "other-shop.myshopify.com")
    segment = Segment(shop_id=other.id, name="Theirs")
    db.session.add(segment)
    make_customer(other, email="same@example.com")
    db.session.commit()
    refused = admin.post("/customers/new", {"email": "x@example.com", "segment_id": segment.id})
    assert refused.status_code == 422
    created = admin.post("/customers/new", {"email": "same@example.com"})
    assert created.status_code == 302
    assert [c.email for c in _customers(shop)] == ["same@example.com"]


def test_a_locale_is_stored_as_shopify_writes_it_like_the_import_does(admin, shop):
    response = admin.post("/customers/new", {"email": "zoe@example.com", "locale": "pt_br"})
    assert response.status_code in (302, 303)
    [customer] = _customers(shop)
    assert customer.locale == "pt-BR"
