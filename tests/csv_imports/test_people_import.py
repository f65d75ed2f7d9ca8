"""People imports: typed attributes on customers matched by shopify_id or email."""

from __future__ import annotations

import html

import pytest
from sqlalchemy import select

from shopify_app.platform.extensions import db
from shopify_app.platform.models import (
    AttributeChange,
    AttributeDefinition,
    Customer,
    PointBalance,
)
from shopify_app.platform.models.base import utcnow
from tests.csv_imports.importing import confirm, count, get_import, row_errors, upload, upload_ok
from tests.factories import make_customer
from tests.helpers import make_shop, run_jobs

HEADER = "shopify_id,email,tier,last_order_date,total_orders,vip,notes\r\n"


def people(admin, content: bytes, **form) -> int:
    return upload_ok(admin, content, name="people.csv", kind="people", **form)


def stored(customer_id: int) -> dict:
    db.session.expire_all()
    return db.session.get(Customer, customer_id).attributes or {}


def definitions(shop) -> dict[str, str]:
    db.session.expire_all()
    rows = db.session.execute(
        select(AttributeDefinition.name, AttributeDefinition.kind).where(
            AttributeDefinition.shop_id == shop.id
        )
    )
    return dict(rows.all())


@pytest.fixture
def ann(shop) -> Customer:
    customer = make_customer(
        shop,
        shopify_id=7_000_000_001,
        email="ann@example.com",
        first_name="Ann",
        last_name="Lee",
        attributes={"tier": "Silver", "notes": "keep me"},
    )
    db.session.commit()
    return customer


@pytest.fixture
def bob(shop) -> Customer:
    customer = make_customer(
        shop, shopify_id=7_000_000_002, email="bob@example.com", first_name="Bob", last_name="Roe"
    )
    db.session.commit()
    return customer


def test_preview_infers_each_column_type_and_flags_mixed_ones(app, admin, shop, ann, bob):
    content = (
        HEADER
        + "7000000001,,Gold,2026-03-01,12,yes,VIP since 2020\r\n"
        + ",bob@example.com,Silver,2026-02-14T09:30:00+01:00,N/A,no,\r\n"
        + "7000000002,,,,,,\r\n"
    ).encode()
    import_id = people(admin, content, mode="both")
    preview = get_import(import_id).summary["preview"]
    kinds = {a["name"]: (a["kind"], a["stored_as"], a["mixed"]) for a in preview["attributes"]}
    assert kinds == {
        "tier": ("text", "text", False),
        "last_order_date": ("date", "date", False),
        "total_orders": ("text", "text", True),
        "vip": ("boolean", "boolean", False),
        "notes": ("text", "text", False),
    }
    mixed = next(a for a in preview["attributes"] if a["name"] == "total_orders")
    assert mixed["counts"] == {"number": 1, "text": 1}
    assert mixed["examples"]["text"] == [3, "N/A"]
    page = html.unescape(admin.get(f"/imports/{import_id}").get_data(as_text=True))
    assert "Mixed types" in page and "row 3: “N/A”" in page and "stored as text" in page
    assert "Date" in page and "Yes/No" in page


def test_both_creates_updates_and_counts_what_the_job_does(app, admin, shop, ann, bob):
    content = (
        HEADER
        + "7000000001,,Gold,2026-03-01,12,yes,\r\n"  # Ann: tier changes, notes kept
        + ",bob@example.com,,,,,\r\n"  # Bob: nothing to change
        + ",new@example.com,Bronze,2026-01-02,3,no,Met at the fair\r\n"
    ).encode()
    import_id = people(admin, content, mode="both")
    preview = get_import(import_id).summary["preview"]
    expected = {"created": 1, "updated": 1, "unchanged": 1}
    assert {k: preview[k] for k in expected} == expected
    assert confirm(admin, import_id, confirm_updates="1").status_code == 302
    run_jobs(app)

    job = get_import(import_id)
    assert job.status == "done"
    assert job.summary["result"] == expected
    assert stored(ann.id) == {
        "tier": "Gold",
        "notes": "keep me",
        "last_order_date": "2026-03-01",
        "total_orders": 12,
        "vip": True,
    }
    assert stored(bob.id) == {}
    new = db.session.execute(
        select(Customer).where(Customer.email_key == "new@example.com")
    ).scalar_one()
    assert (new.shopify_id, new.state, new.is_member) == (None, "DISABLED", False)
    assert db.session.get(PointBalance, new.id).balance == 0  # the points sort needs a row
    assert new.attributes == {
        "tier": "Bronze",
        "last_order_date": "2026-01-02",
        "total_orders": 3,
        "vip": False,
        "notes": "Met at the fair",
    }
    assert definitions(shop) == {
        "tier": "text",
        "last_order_date": "date",
        "total_orders": "number",
        "vip": "boolean",
        "notes": "text",
    }
    # The undo log keeps what changed, not the customers left as they were.
    assert count(AttributeChange) == 2


def test_updating_existing_customers_needs_the_merchants_confirmation(app, admin, shop, ann):
    import_id = people(admin, (HEADER + "7000000001,,Gold,,,,\r\n").encode())
    page = admin.get(f"/imports/{import_id}").get_data(as_text=True)
    assert 'name="confirm_updates"' in page
    refused = confirm(admin, import_id)
    assert refused.status_code == 302
    job = get_import(import_id)
    assert job.status == "previewed"
    shown = html.unescape(admin.get(f"/imports/{import_id}").get_data(as_text=True))
    assert "This file updates 1 existing customers" in shown
    run_jobs(app)
    assert stored(ann.id)["tier"] == "Silver"

    confirm(admin, import_id, confirm_updates="1")
    run_jobs(app)
    assert get_import(import_id).status == "done"
    assert stored(ann.id)["tier"] == "Gold"


def test_create_mode_leaves_existing_customers_alone(app, admin, shop, ann):
    content = (HEADER + "7000000001,,Gold,,,,\r\n,fresh@example.com,Gold,,,,\r\n").encode()
    import_id = people(admin, content, mode="create")
    preview = get_import(import_id).summary["preview"]
    assert (preview["created"], preview["updated"], preview["unchanged"]) == (1, 0, 1)
    confirm(admin, import_id)  # nothing to update: no confirmation needed
    run_jobs(app)
    assert stored(ann.id)["tier"] == "Silver"
    assert count(Customer) == 2


def test_update_mode_rejects_unknown_emails_and_shopify_ids(app, admin, shop, ann):
    content = (
        HEADER
        + ",stranger@example.com,Gold,,,,\r\n"
        + "7999999999,,Gold,,,,\r\n"
        + "7999999999,,Gold,,,,\r\n"
    ).encode()
    import_id = people(admin, content, mode="update")
    errors = row_errors(import_id)
    assert "create new contacts" in errors[2].reason
    # A shopify_id the store does not know never creates anyone, in any mode.
    assert errors[3].column == "shopify_id" and "No customer with Shopify id 7999999999" in (
        errors[3].reason
    )
    both = people(admin, content.replace(b"Gold,,,,\r\n7999", b"Gold,,,,x\r\n7999"), mode="both")
    assert "No customer with Shopify id" in row_errors(both)[3].reason
    assert count(Customer) == 1


def test_keep_leaves_stored_values_and_clear_removes_them(app, admin, shop, ann):
    content = b"email,tier,notes\r\nann@example.com,Gold,\r\n"
    keep = people(admin, content)
    confirm(admin, keep, confirm_updates="1")
    run_jobs(app)
    assert stored(ann.id) == {"tier": "Gold", "notes": "keep me"}

    clear = people(admin, content.replace(b"Gold", b"Platinum"), empty="clear")
    assert get_import(clear).summary["preview"]["updated"] == 1
    confirm(admin, clear, confirm_updates="1")
    run_jobs(app)
    assert stored(ann.id) == {"tier": "Platinum"}


def test_unchanged_rows_are_counted_by_their_stored_type(app, admin, shop, ann):
    first = people(admin, b"email,total_orders,vip\r\nann@example.com,12,yes\r\n")
    confirm(admin, first, confirm_updates="1")
    run_jobs(app)
    again = people(admin, b"email,total_orders,vip\r\nANN@example.com ,12.0,YES\r\n")
    preview = get_import(again).summary["preview"]
    assert (preview["updated"], preview["unchanged"]) == (0, 1)


def test_a_row_naming_two_customers_is_rejected_naming_both(app, admin, shop, ann, bob):
    content = (HEADER + "7000000001,bob@example.com,Gold,,,,\r\n").encode()
    import_id = people(admin, content, mode="both")
    error = row_errors(import_id)[2]
    assert "matches two customers" in error.reason
    assert "Ann Lee (ann@example.com" in error.reason and "Bob Roe (bob@example.com" in error.reason
    assert get_import(import_id).summary["preview"]["valid_rows"] == 0


def test_a_customer_twice_in_one_file_is_rejected_after_the_first_row(app, admin, shop, ann):
    content = b"email,tier\r\nann@example.com,Gold\r\nANN@example.com,Bronze\r\nn@example.com,A\r\n"
    import_id = people(admin, content, mode="both")
    errors = row_errors(import_id)
    assert list(errors) == [3] and "already in row 2" in errors[3].reason
    confirm(admin, import_id, confirm_updates="1")
    run_jobs(app)
    job = get_import(import_id)
    assert (job.applied_rows, job.error_rows) == (2, 1)
    assert stored(ann.id)["tier"] == "Gold"


def test_another_shops_customers_are_never_matched(app, admin, shop, shopify_double):
    other_shop = make_shop_with_customer(shopify_double)
    content = b"shopify_id,email,tier\r\n7100000001,,Gold\r\n,theirs@example.com,Gold\r\n"
    import_id = people(admin, content, mode="both")
    preview = get_import(import_id).summary["preview"]
    assert (preview["created"], preview["updated"], preview["error_rows"]) == (1, 0, 1)
    confirm(admin, import_id)
    run_jobs(app)
    theirs = db.session.execute(
        select(Customer).where(Customer.shop_id == other_shop.id)
    ).scalar_one()
    assert theirs.attributes is None
    mine = db.session.execute(select(Customer).where(Customer.shop_id == shop.id)).scalar_one()
    assert mine.email == "theirs@example.com" and mine.attributes == {"tier": "Gold"}


def make_shop_with_customer(double):
    other = make_shop(double, "other-people.myshopify.com")
    make_customer(other, shopify_id=7_100_000_001, email="theirs@example.com")
    db.session.commit()
    return other


def test_a_deleted_customer_is_not_updated(app, admin, shop):
    make_customer(shop, email="gone@example.com", deleted_at=utcnow())
    db.session.commit()
    import_id = people(admin, b"email,tier\r\ngone@example.com,Gold\r\n", mode="both")
    assert "deleted" in row_errors(import_id)[2].reason


def test_a_people_file_without_an_identifier_is_refused(app, admin, shop):
    response = upload(admin, b"name,tier\r\nAnn,Gold\r\n", name="p.csv", kind="people")
    assert response.status_code == 400
    assert "Missing required column: shopify_id or email" in response.get_data(as_text=True)
    bad_mode = upload(admin, b"email,tier\r\na@example.com,Gold\r\n", kind="people", mode="x")
    assert bad_mode.status_code == 400
    assert count(Customer) == 0


def test_changing_the_mode_on_the_preview_counts_again(app, admin, shop, ann):
    content = (HEADER + ",new@example.com,Gold,,,,\r\n7000000001,,Gold,,,,\r\n").encode()
    import_id = people(admin, content)
    preview = get_import(import_id).summary["preview"]
    assert (preview["created"], preview["updated"], preview["error_rows"]) == (0, 1, 1)
    page = admin.get(f"/imports/{import_id}").get_data(as_text=True)
    assert "data-people-settings" in page
    admin.post(f"/imports/{import_id}/people-settings", {"mode": "both", "empty": "keep"})
    job = get_import(import_id)
    assert job.summary["people"] == {"mode": "both", "empty": "keep"}
    preview = job.summary["preview"]
    assert (preview["created"], preview["updated"], preview["error_rows"]) == (1, 1, 0)
    assert row_errors(import_id) == {}
    admin.post(f"/imports/{import_id}/people-settings", {"mode": "nonsense"})
    assert get_import(import_id).summary["people"]["mode"] == "both"


def test_the_sample_people_file_imports_cleanly(app, admin, shop, ann, bob):
    sample = admin.get("/imports/samples/people.csv")
    assert sample.status_code == 200 and sample.mimetype == "text/csv"
    import_id = people(admin, sample.data)
    preview = get_import(import_id).summary["preview"]
    assert preview["error_rows"] == 0 and preview["updated"] == 2
    kinds = {a["name"]: a["stored_as"] for a in preview["attributes"]}
    assert kinds == {
        "tier": "text",
        "last_order_date": "date",
        "total_orders": "number",
        "newsletter": "boolean",
    }


def test_all_or_nothing_imports_nothing_when_a_row_is_rejected(app, admin, shop, ann):
    content = b"email,tier\r\nann@example.com,Gold\r\nnot-an-email,Gold\r\n"
    refused = people(admin, content, mode="both")
    confirm(admin, refused, apply_with_errors="0", confirm_updates="1")
    assert get_import(refused).status == "previewed"  # refused at confirm: rows are rejected
    clean = people(admin, content.replace(b"not-an-email", b"new@example.com"), mode="both")
    confirm(admin, clean, apply_with_errors="0", confirm_updates="1")
    run_jobs(app)
    job = get_import(clean)
    assert (job.status, job.applied_rows) == ("done", 2)
    assert stored(ann.id)["tier"] == "Gold" and count(Customer) == 2
