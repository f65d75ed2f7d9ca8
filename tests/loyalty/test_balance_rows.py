"""Every customer has a balance row, however it arrived: the points sort walks that table.

A customer without one would vanish from the table sorted by points, and an earning would
find no row to move; so each way a customer is created is tried here.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from shopify_app.customers.adding import NewCustomer, add_customer_by_email
from shopify_app.customers.queries import TableQuery, customer_page
from shopify_app.loyalty.ledger import add_points
from shopify_app.platform.customer_store import (
    ShopifyCustomer,
    upsert_shopify_customer,
    upsert_shopify_customers,
)
from shopify_app.platform.extensions import db
from shopify_app.platform.models import Customer, PointBalance
from tests.csv_imports.importing import confirm, upload_ok
from tests.helpers import run_jobs

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def _shopify(n: int) -> ShopifyCustomer:
    return ShopifyCustomer(
        shopify_id=7_100_000_000 + n,
        email=f"s{n}@example.com",
        first_name="Shop",
        last_name=str(n),
        locale="en",
        state="ENABLED",
        tags="",
        updated_at=NOW,
    )


def test_customers_from_every_path_have_a_balance_and_show_in_the_points_sort(app, admin, shop):
    upsert_shopify_customer(shop, _shopify(1))  # a customers/create webhook
    upsert_shopify_customers(shop, [_shopify(n) for n in range(2, 6)])  # the sync, in bulk
    added = add_customer_by_email(
        shop,
        NewCustomer(
            first_name="Hand", last_name="Made", email="hand@example.com", locale="en",
            points=0, segment_id=None,
        ),
    )  # fmt: skip
    db.session.commit()
    content = b"first_name,last_name,email\r\nCsv,One,c1@example.com\r\nCsv,Two,c2@example.com\r\n"
    import_id = upload_ok(
        admin, content, name="contacts.csv", kind="contacts", segment_id="new", new_segment="List"
    )
    confirm(admin, import_id)
    run_jobs(app)

    customers = db.session.scalar(select(func.count()).select_from(Customer))
    rows = db.session.scalar(select(func.count()).select_from(PointBalance))
    assert customers == rows == 8
    add_points(shop, added, 30, source="manual")
    db.session.commit()
    page = customer_page(shop, TableQuery(sort="points", direction="desc"))
    assert len(page.rows) == 8
    assert (page.rows[0].id, page.rows[0].points_balance) == (added.id, 30)
    assert {r.points_balance for r in page.rows[1:]} == {0}
