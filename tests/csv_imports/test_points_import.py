"""Points imports: every row error is stored with its reason, valid rows reach the ledger."""

from __future__ import annotations

import html

import pytest
from sqlalchemy import select

from shopify_app.imports.reports import progress
from shopify_app.platform.extensions import db
from shopify_app.platform.models import ImportJob, PointsEntry
from tests.csv_imports.importing import (
    add_customers,
    balance,
    confirm,
    count,
    csv_bytes,
    get_import,
    ledger,
    row_errors,
    upload_ok,
)
from tests.factories import set_balances
from tests.helpers import AdminClient, make_shop, run_jobs

A, B, C = 7_000_000_001, 7_000_000_002, 7_000_000_003

BAD_ROWS = [
    # (shopify_id, points_to_add, description, column, reason fragment)
    (999_999, 10, "ok", "shopify_id", "No customer with Shopify id 999999 in this store"),
    ("abc", 10, "ok", "shopify_id", "is not a Shopify customer id"),
    ("gid://shopify/Order/7000000001", 10, "ok", "shopify_id", "is not a Shopify customer id"),
    ("7.00E+09", 10, "ok", "shopify_id", "Excel changed this id (7.00E+09)"),
    ("7000000001.0", 10, "ok", "shopify_id", "Excel changed this id (7000000001.0); format"),
    (A, "12345678901234567890", "ok", "points_to_add", "points_to_add is too large"),
    ("", 10, "ok", "shopify_id", "shopify_id is empty"),
    (A, "1.5", "ok", "points_to_add", "not a whole number"),
    (A, "ten", "ok", "points_to_add", "not a whole number"),
    (A, "", "ok", "points_to_add", "points_to_add is empty"),
    (A, "0", "ok", "points_to_add", "nothing to add"),
    (A, "1000001", "ok", "points_to_add", "beyond the limit of ±1,000,000"),
    (A, "-1000001", "ok", "points_to_add", "beyond the limit of ±1,000,000"),
    (A, 10, "x" * 256, "description", "the limit is 255"),
    (B, -500, "too much", "points_to_add", "The balance would go below zero (100 -500)"),
]


def test_each_row_error_is_stored_and_only_valid_rows_apply(app, admin, shop):
    add_customers(shop, 3, balance=100)
    rows = [["shopify_id", "points_to_add", "description"]]
    rows += [[f'"{v}"' if isinstance(v, str) and "," in v else v for v in r[:3]] for r in BAD_ROWS]
    rows += [
        [A, "+25", "Plus sign"],
        [f"gid://shopify/Customer/{B}", 40, "Gid form"],
        [f" {C} ", " -30 ", "  Spaces trimmed  "],
        [C, 5, ""],
    ]
    import_id = upload_ok(admin, csv_bytes(rows))
    preview = get_import(import_id).summary["preview"]
    assert (preview["rows"], preview["valid_rows"], preview["error_rows"]) == (19, 4, 15)
    confirm(admin, import_id)
    run_jobs(app)

    job = get_import(import_id)
    assert (job.status, job.applied_rows, job.error_rows) == ("done", 4, 15)
    errors = row_errors(import_id)
    for row_number, (_, _, _, column, reason) in enumerate(BAD_ROWS, start=2):
        assert errors[row_number].column == column
        assert reason in errors[row_number].reason
    assert [balance(shop, i) for i in (A, B, C)] == [125, 140, 75]
    entries = ledger(import_id)
    assert [(e.row_number, e.delta, e.description) for e in entries] == [
        (17, 25, "Plus sign"),
        (18, 40, "Gid form"),
        (19, -30, "Spaces trimmed"),
        (20, 5, "Points import: points.csv"),
    ]
    assert [e.balance_after for e in entries] == [125, 140, 70, 75]


def test_descriptions_keep_tabs_backslashes_and_newlines(app, admin, shop):
    """The batch travels to PostgreSQL in COPY's text format: its escapes must round-trip."""
    add_customers(shop, 2)
    tricky = ["Tab\there", "Back\\slash \\N", "Two\nlines", "Carriage\rreturn", "Café ☕"]
    content = csv_bytes(
        [["shopify_id", "points_to_add", "description"]]
        + [[A if n % 2 else B, n + 1, '"' + text + '"'] for n, text in enumerate(tricky)]
    )
    import_id = upload_ok(admin, content)
    confirm(admin, import_id)
    run_jobs(app)

    assert [e.description for e in ledger(import_id)] == tricky
    assert (balance(shop, A), balance(shop, B)) == (2 + 4, 1 + 3 + 5)


def test_rejected_rows_download_has_original_columns_plus_error(app, admin, shop):
    add_customers(shop, 1)
    content = csv_bytes(
        [
            ["Shopify ID", "Points to add", "Description", "=HYPERLINK(1)"],
            [A, 10, "fine", ""],
            [A, "=1+1", "formula", "a"],
            [A, -50, "x", "b"],
        ]
    )
    import_id = upload_ok(admin, content)
    confirm(admin, import_id)
    run_jobs(app)

    download = admin.get(f"/imports/{import_id}/rejected.csv")
    assert download.status_code == 200
    assert "attachment" in download.headers["Content-Disposition"]
    lines = download.get_data(as_text=True).lstrip("\ufeff").splitlines()
    # A formula in the file's header is as dangerous as one in a cell.
    assert lines[0] == "Shopify ID,Points to add,Description,'=HYPERLINK(1),error"
    assert lines[1] == f"{A},'=1+1,formula,a,points_to_add is not a whole number"
    assert lines[2] == f"{A},-50,x,b,The balance would go below zero (10 -50)"
    assert len(lines) == 3


def test_overdraw_is_checked_against_the_balance_at_apply_time(app, admin, shop):
    add_customers(shop, 1, balance=100)
    content = csv_bytes([["shopify_id", "points_to_add"], [A, -60], [A, -30], [A, -20], [A, 5]])
    import_id = upload_ok(admin, content)
    assert get_import(import_id).summary["preview"]["error_rows"] == 1  # 100-60-30 → -20 fails
    # The customer spends points between the preview and the run.
    set_balances(shop, 70)
    db.session.commit()
    confirm(admin, import_id)
    run_jobs(app)

    assert balance(shop, A) == 70 - 60 + 5
    assert sorted(row_errors(import_id)) == [3, 4]
    assert [e.balance_after for e in ledger(import_id)] == [10, 15]


def test_customer_of_another_shop_is_rejected_as_unknown(app, admin, shop, shopify_double):
    other = make_shop(shopify_double, "other-shop.myshopify.com")
    add_customers(other, 1, first_id=8_000_000_001)
    add_customers(shop, 1)
    content = csv_bytes([["shopify_id", "points_to_add"], [8_000_000_001, 50], [A, 5]])
    import_id = upload_ok(admin, content)
    confirm(admin, import_id)
    run_jobs(app)

    assert row_errors(import_id)[2].reason == "No customer with Shopify id 8000000001 in this store"
    assert balance(other, 8_000_000_001) == 0
    assert balance(shop, A) == 5
    assert db.session.execute(select(PointsEntry.shop_id).distinct()).scalars().all() == [shop.id]


def test_another_shop_cannot_see_or_run_this_import(app, admin, client, shop, shopify_double):
    add_customers(shop, 1)
    import_id = upload_ok(admin, csv_bytes([["shopify_id", "points_to_add"], [A, 5]]))
    other = make_shop(shopify_double, "other-shop.myshopify.com")

    intruder = AdminClient(client, other.domain, shopify_double)
    for path in ("", "/progress.json", "/rejected.csv"):
        assert intruder.get(f"/imports/{import_id}{path}").status_code == 404
    assert intruder.post(f"/imports/{import_id}/confirm", {}).status_code == 404
    assert get_import(import_id).status == "previewed"
    assert f"/imports/{import_id}" not in intruder.get("/imports").get_data(as_text=True)


def test_all_or_nothing_imports_nothing_when_a_row_is_rejected_at_apply_time(app, admin, shop):
    add_customers(shop, 2, balance=100)
    content = csv_bytes([["shopify_id", "points_to_add"], [A, 10], [B, -80]])
    import_id = upload_ok(admin, content)
    confirm(admin, import_id, apply_with_errors="0")
    set_balances(shop, 5, shopify_id=B)
    db.session.commit()
    run_jobs(app)

    job = get_import(import_id)
    assert job.status == "failed" and "nothing was imported" in job.error_message
    assert count(PointsEntry) == 0
    assert [balance(shop, A), balance(shop, B)] == [100, 5]
    assert list(row_errors(import_id)) == [3]


def test_all_or_nothing_cannot_be_confirmed_with_rejected_rows(app, admin, shop):
    add_customers(shop, 1)
    import_id = upload_ok(admin, csv_bytes([["shopify_id", "points_to_add"], [A, 10], [A, "x"]]))
    response = confirm(admin, import_id, apply_with_errors="0")
    page = html.unescape(admin.get(f"/imports/{import_id}").get_data(as_text=True))
    assert response.status_code == 302
    assert "you chose to import nothing in that case" in page
    assert get_import(import_id).status == "previewed"


def test_cancel_before_a_worker_starts_applies_nothing(app, admin, shop):
    add_customers(shop, 1)
    import_id = upload_ok(admin, csv_bytes([["shopify_id", "points_to_add"], [A, 10]]))
    confirm(admin, import_id)
    assert admin.post(f"/imports/{import_id}/cancel").status_code == 302
    run_jobs(app)

    assert get_import(import_id).status == "cancelled"
    assert count(PointsEntry) == 0


def test_revert_takes_back_every_row_with_a_compensating_entry(app, admin, shop):
    add_customers(shop, 2, balance=10)
    content = csv_bytes([["shopify_id", "points_to_add", "description"], [A, 30, "a"], [B, 5, "b"]])
    import_id = upload_ok(admin, content)
    confirm(admin, import_id)
    run_jobs(app)
    assert admin.post(f"/imports/{import_id}/revert").status_code == 302
    run_jobs(app)
    run_jobs(app)  # a second run of the revert adds nothing

    assert get_import(import_id).status == "reverted"
    assert [balance(shop, A), balance(shop, B)] == [10, 10]
    reverts = ledger(import_id, source="import_revert")
    assert [(e.row_number, e.delta, e.description) for e in reverts] == [
        (2, -30, "Reverted: a"),
        (3, -5, "Reverted: b"),
    ]


def test_revert_is_refused_when_points_were_spent_since(app, admin, shop):
    add_customers(shop, 1)
    import_id = upload_ok(admin, csv_bytes([["shopify_id", "points_to_add"], [A, 30]]))
    confirm(admin, import_id)
    run_jobs(app)
    set_balances(shop, 10)
    db.session.commit()
    admin.post(f"/imports/{import_id}/revert")
    run_jobs(app)

    assert get_import(import_id).status == "done"
    assert balance(shop, A) == 10
    assert ledger(import_id, source="import_revert") == []


@pytest.mark.parametrize("kind", ["points", "contacts"])
def test_sample_csv_downloads_and_imports_cleanly(app, admin, shop, kind):
    add_customers(shop, 3)
    sample = admin.get(f"/imports/samples/{kind}.csv")
    assert sample.status_code == 200 and sample.mimetype == "text/csv"
    extra = {"segment_id": "new", "new_segment": "Sample"} if kind == "contacts" else {}
    import_id = upload_ok(admin, sample.data, name=f"sample-{kind}.csv", kind=kind, **extra)
    preview = get_import(import_id).summary["preview"]
    assert preview["error_rows"] == 0 and preview["valid_rows"] >= 3
    assert "Download a sample CSV" in admin.get("/imports").get_data(as_text=True)


def test_history_lists_past_imports_with_their_figures(app, admin, shop):
    add_customers(shop, 1)
    import_id = upload_ok(admin, csv_bytes([["shopify_id", "points_to_add"], [A, 10], [A, "x"]]))
    confirm(admin, import_id)
    run_jobs(app)
    page = admin.get("/imports").get_data(as_text=True)
    assert f"/imports/{import_id}?" in page and "points.csv" in page and "Done" in page
    assert count(ImportJob) == 1
    assert progress(get_import(import_id))["finished"] is True
