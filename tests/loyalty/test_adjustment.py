"""Manual adjustments from the customer page: add or remove with a note, or nothing changes."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from shopify_app.loyalty.ledger import add_points
from shopify_app.platform.extensions import db
from shopify_app.platform.models import PointBalance, PointsEntry
from tests.factories import make_contact
from tests.helpers import make_shop


def history(customer) -> list[tuple[int, str, str]]:
    db.session.rollback()
    return [
        (e.delta, e.description, e.source)
        for e in db.session.scalars(
            select(PointsEntry)
            .where(PointsEntry.customer_id == customer.id)
            .order_by(PointsEntry.id)
        )
    ]


def balance(customer) -> int:
    return db.session.scalar(
        select(PointBalance.balance).where(PointBalance.customer_id == customer.id)
    )


@pytest.fixture
def ana(shop):
    customer = make_contact(shop, "ana@example.com")
    add_points(shop, customer, 100, source="manual", description="Starting points")
    db.session.commit()
    return customer


def test_adding_and_removing_points_shows_the_note_in_the_history(admin, ana):
    added = admin.post(
        f"/customers/{ana.id}/points",
        {"direction": "add", "points": "50", "note": "Sorry for the delay"},
    )
    assert added.status_code == 302 and added.headers["Location"].endswith("#points")
    removed = admin.post(
        f"/customers/{ana.id}/points",
        {"direction": "remove", "points": "30", "note": "Duplicate order"},
    )
    assert removed.status_code == 302
    assert history(ana)[1:] == [
        (50, "Sorry for the delay", "manual"),
        (-30, "Duplicate order", "manual"),
    ]
    assert balance(ana) == 120
    page = admin.get(f"/customers/{ana.id}").get_data(as_text=True)
    assert "Sorry for the delay" in page and "Duplicate order" in page and "Adjust points" in page


def test_removing_more_than_the_balance_says_so_and_changes_nothing(admin, ana):
    response = admin.post(
        f"/customers/{ana.id}/points", {"direction": "remove", "points": "101", "note": "Oops"}
    )
    assert response.status_code == 422
    assert "you can remove at most 100" in response.get_data(as_text=True)
    assert balance(ana) == 100 and len(history(ana)) == 1


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"direction": "add", "points": "10", "note": "  "}, "Add a note"),
        ({"direction": "add", "points": "0", "note": "Gift"}, "1 or more"),
        ({"direction": "add", "points": "-5", "note": "Gift"}, "1 or more"),
        ({"direction": "add", "points": "ten", "note": "Gift"}, "1 or more"),
        ({"direction": "double", "points": "10", "note": "Gift"}, "add or remove"),
        ({"direction": "add", "points": "10", "note": "x" * 256}, "255 characters"),
    ],
)
def test_a_bad_adjustment_is_refused_with_its_reason(admin, ana, form, message):
    response = admin.post(f"/customers/{ana.id}/points", form)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert balance(ana) == 100 and len(history(ana)) == 1


def test_another_shops_customer_cannot_be_adjusted(admin, shop, shopify_double):
    other = make_shop(shopify_double, "other-shop.myshopify.com")
    theirs = make_contact(other, "ben@example.com")
    db.session.commit()
    response = admin.post(
        f"/customers/{theirs.id}/points", {"direction": "add", "points": "10", "note": "Hi"}
    )
    assert response.status_code == 404
    assert history(theirs) == []
