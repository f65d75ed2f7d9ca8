"""Home's Members and Guests: the shop's live customers only, as the customers table shows."""

from __future__ import annotations

from datetime import datetime

from shopify_app.home.status import shop_status
from shopify_app.platform.extensions import db
from tests.factories import make_customer
from tests.helpers import make_shop

WHEN = datetime(2026, 11, 2, 9)  # naive UTC, as the app stores times


def test_members_and_guests_leave_out_deleted_and_erased_customers(shop, shopify_double):
    make_customer(shop, state="ENABLED", is_member=True, joined_at=WHEN)
    make_customer(shop, state="ENABLED", is_member=True)
    make_customer(shop, state="DISABLED", is_member=False)
    # Gone from Shopify, and erased on customers/redact: neither counts any more.
    make_customer(shop, state="ENABLED", is_member=True, deleted_at=WHEN)
    make_customer(shop, state="ENABLED", is_member=True, joined_at=WHEN, redacted_at=WHEN)
    make_customer(shop, state="DISABLED", is_member=False, redacted_at=WHEN)
    other = make_shop(shopify_double, "other-status.myshopify.com")
    make_customer(other, state="ENABLED", is_member=True, joined_at=WHEN)
    db.session.commit()

    status = shop_status(shop)

    assert (status.members, status.guests, status.joined) == (2, 1, 1)
