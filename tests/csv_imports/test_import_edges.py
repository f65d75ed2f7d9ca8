"""Imports at the edges: runaway quotes, twin files confirmed twice, other apps' exports.

Each test here failed on the code before "Trust at the edges" (issue 11).
"""

from __future__ import annotations

import csv
import html
import io
import threading

import pytest
from flask import Flask
from sqlalchemy import select

from shopify_app.imports.decisions import DuplicateFileNotConfirmed, confirm_import
from shopify_app.imports.runs import queue_import
from shopify_app.platform.extensions import db
from shopify_app.platform.models import ImportJob, PointsEntry, Shop
from tests.csv_imports.importing import (
    add_customers,
    balance,
    confirm,
    count,
    csv_bytes,
    get_import,
    ledger,
    row_errors,
    upload,
    upload_ok,
)
from tests.factories import set_balances
from tests.helpers import run_jobs

A, B, C = 7_000_000_001, 7_000_000_002, 7_000_000_003


def test_unclosed_quote_refuses_the_whole_file_with_the_line_where_it_starts(app, admin, shop):
    """1,000 rows with a quote opened on row 500: the lenient reader used to import 499."""
    add_customers(shop, 3)
    lines = ["shopify_id,points_to_add,description"]
    for n in range(1, 1001):
        description = '"Welcome bonus' if n == 500 else "Welcome bonus"
        lines.append(f"{A + n % 3},5,{description}")
    response = upload(admin, ("\r\n".join(lines) + "\r\n").encode())

    assert response.status_code == 400
    text = html.unescape(response.get_data(as_text=True))
    assert "Line 501 opens a quoted value that is not closed properly" in text
    assert "Nothing was imported" in text
    assert count(ImportJob) == count(PointsEntry) == 0
    assert [balance(shop, i) for i in (A, B, C)] == [0, 0, 0]


def test_quoted_line_breaks_still_import(app, admin, shop):
    add_customers(shop, 1)
    content = b'shopify_id,points_to_add,description\r\n7000000001,5,"Two\r\nlines"\r\n'
    import_id = upload_ok(admin, content)
    confirm(admin, import_id)
    run_jobs(app)
    assert [e.description for e in ledger(import_id)] == ["Two\r\nlines"]


def _page(admin, location: str) -> str:
    """The page a redirect leads to, as the merchant reads it."""
    path = location.split("?")[0].removeprefix("http://localhost")
    return html.unescape(admin.get(path).get_data(as_text=True))


def _two_previews(admin) -> tuple[int, int]:
    content = csv_bytes([["shopify_id", "points_to_add"], [A, 10], [B, 20]])
    first, second = upload_ok(admin, content), upload_ok(admin, content)
    # Neither was applied when the other was previewed: neither preview warns.
    assert get_import(first).summary["duplicate_of"] is None
    assert get_import(second).summary["duplicate_of"] is None
    return first, second


def test_the_same_file_previewed_twice_and_confirmed_twice_applies_once(app, admin, shop):
    add_customers(shop, 2)
    first, second = _two_previews(admin)
    confirm(admin, first)
    response = confirm(admin, second)
    page = _page(admin, response.headers["Location"])
    run_jobs(app)

    assert (balance(shop, A), balance(shop, B)) == (10, 20)
    assert get_import(second).status == "previewed"
    assert f"identical to an earlier import (#{first})" in page
    assert "This file was already imported" in page  # the warning and its checkbox appear
    assert 'name="confirm_duplicate"' in page

    confirm(admin, second, confirm_duplicate="1")
    run_jobs(app)
    assert (balance(shop, A), balance(shop, B)) == (20, 40)


def _confirm_in_thread(
    app: Flask, shop_id: int, import_id: int, start: threading.Barrier, out: dict
) -> None:
    with app.app_context():
        shop = db.session.get(Shop, shop_id)
        job = db.session.get(ImportJob, import_id)
        start.wait()
        try:
            confirm_import(shop, job, apply_with_errors=True)
            db.session.commit()
            queue_import(import_id, job.attempts)
            out[import_id] = "queued"
        except DuplicateFileNotConfirmed:
            db.session.rollback()
            out[import_id] = "duplicate"
        finally:
            db.session.remove()


def test_two_confirms_at_once_of_the_same_file_let_one_through(app, admin, shop):
    add_customers(shop, 2)
    first, second = _two_previews(admin)
    start, out = threading.Barrier(2), {}
    threads = [
        threading.Thread(target=_confirm_in_thread, args=(app, shop.id, i, start, out))
        for i in (first, second)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    run_jobs(app)

    assert sorted(out.values()) == ["duplicate", "queued"]
    assert (balance(shop, A), balance(shop, B)) == (10, 20)


def test_a_discarded_upload_does_not_make_the_next_one_a_duplicate(app, admin, shop):
    add_customers(shop, 1)
    content = csv_bytes([["shopify_id", "points_to_add"], [A, 10]])
    discarded = upload_ok(admin, content)
    admin.post(f"/imports/{discarded}/cancel")
    assert get_import(discarded).status == "cancelled"

    again = upload_ok(admin, content)
    page = html.unescape(admin.get(f"/imports/{again}").get_data(as_text=True))
    assert get_import(again).summary["duplicate_of"] is None
    assert "already imported" not in page
    confirm(admin, again)
    run_jobs(app)
    assert balance(shop, A) == 10


SHOPIFY_EXPORT_HEADER = (
    "Customer ID,First Name,Last Name,Email,Accepts Email Marketing,Default Address Company,"
    "Default Address Address1,Default Address City,Default Address Province Code,"
    "Default Address Country Code,Default Address Zip,Default Address Phone,Phone,"
    "Accepts SMS Marketing,Total Spent,Total Orders,Note,Tax Exempt,Tags,points_to_add"
)


def test_shopify_customer_export_imports_once_points_to_add_is_added(app, admin, shop):
    """Shopify writes `'7000000001` so Excel keeps the id; its Note is the merchant's."""
    add_customers(shop, 2)
    rows = [
        f"'{A},Anna,Ek,a@example.com,yes,,,,,SE,,,,no,120.00,3,Private: allergic to nuts,no,vip,50",
        f"'{B},Bo,Li,b@example.com,no,,,,,SE,,,,no,0.00,0,,no,,25",
    ]
    content = (SHOPIFY_EXPORT_HEADER + "\n" + "\n".join(rows) + "\n").encode()
    import_id = upload_ok(admin, content, name="customers_export.csv")
    preview = get_import(import_id).summary["preview"]
    assert preview["columns"] == {"shopify_id": "Customer ID", "points_to_add": "points_to_add"}
    assert preview["error_rows"] == 0
    confirm(admin, import_id)
    run_jobs(app)

    assert (balance(shop, A), balance(shop, B)) == (50, 25)
    descriptions = {e.description for e in ledger(import_id)}
    assert descriptions == {"Points import: customers_export.csv"}
    assert not any("allergic" in (e.description or "") for e in ledger(import_id))


def test_the_apps_own_export_round_trips_with_one_column_added(app, admin, shop):
    add_customers(shop, 2, balance=70)
    exported = admin.get("/customers/export.csv").get_data().decode("utf-8-sig")
    table = list(csv.reader(io.StringIO(exported)))
    assert "Customer ID" in table[0] and "Shopify customer ID" in table[0]
    assert "Points" in table[0]  # the balance: must not be read as points to add
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*table[0], "points_to_add"])
    for row in table[1:]:
        writer.writerow([*row, 5])
    import_id = upload_ok(admin, out.getvalue().encode("utf-8-sig"), name="export.csv")
    preview = get_import(import_id).summary["preview"]
    assert preview["columns"]["shopify_id"] == "Shopify customer ID"
    assert (preview["valid_rows"], preview["error_rows"]) == (2, 0)
    confirm(admin, import_id)
    run_jobs(app)
    assert (balance(shop, A), balance(shop, B)) == (75, 75)


@pytest.mark.parametrize("header", ["Points", "balance"])
def test_a_points_or_balance_column_asks_before_anything_is_counted(app, admin, shop, header):
    add_customers(shop, 2, balance=100)
    content = csv_bytes([["shopify_id", header], [A, 150], [B, 100]])
    import_id = upload_ok(admin, content)
    page = html.unescape(admin.get(f"/imports/{import_id}").get_data(as_text=True))
    assert f"What does the column “{header}” hold?" in page
    assert "data-confirm-form" not in page
    response = confirm(admin, import_id)
    assert get_import(import_id).status == "previewed"  # confirming first is refused
    assert "holds before importing" in _page(admin, response.headers["Location"])


def test_set_the_balance_records_the_difference_in_the_ledger(app, admin, shop):
    add_customers(shop, 3, balance=100)
    content = csv_bytes([["shopify_id", "Points"], [A, 150], [B, 100], [C, 40], [C, 60]])
    import_id = upload_ok(admin, content)
    admin.post(f"/imports/{import_id}/points-mode", {"points_mode": "set"})
    preview = get_import(import_id).summary["preview"]
    assert (preview["points_mode"], preview["customers"], preview["unchanged"]) == ("set", 2, 1)
    assert preview["points_total"] == 50 + 0 - 60 + 20
    page = html.unescape(admin.get(f"/imports/{import_id}").get_data(as_text=True))
    assert "2\ncustomers get a new balance" in page.replace("<strong>", "").replace(
        "</strong> ", "\n"
    )
    confirm(admin, import_id)
    run_jobs(app)

    assert [balance(shop, i) for i in (A, B, C)] == [150, 100, 60]
    entries = [(e.row_number, e.delta, e.balance_after, e.description) for e in ledger(import_id)]
    assert entries == [
        (2, 50, 150, "Points balance set to 150"),
        (4, -60, 40, "Points balance set to 40"),
        (5, 20, 60, "Points balance set to 60"),
    ]
    job = get_import(import_id)
    assert (job.status, job.applied_rows, job.error_rows) == ("done", 4, 0)


def test_set_balance_reads_the_balance_at_apply_time_and_refuses_negative(app, admin, shop):
    add_customers(shop, 2, balance=100)
    content = csv_bytes([["shopify_id", "balance"], [A, 30], [B, -5]])
    import_id = upload_ok(admin, content, points_mode="set")
    assert row_errors(import_id)[3].reason == "balance is a balance and cannot be below zero"
    # Points earned between the preview and the run are not lost on top of the set balance.
    set_balances(shop, 500, shopify_id=A)
    db.session.commit()
    confirm(admin, import_id)
    run_jobs(app)
    assert balance(shop, A) == 30
    assert [e.delta for e in ledger(import_id)] == [-470]


def test_add_mode_for_a_points_column_adds(app, admin, shop):
    add_customers(shop, 1, balance=100)
    import_id = upload_ok(admin, csv_bytes([["shopify_id", "Points"], [A, 25]]))
    admin.post(f"/imports/{import_id}/points-mode", {"points_mode": "add"})
    confirm(admin, import_id)
    run_jobs(app)
    assert balance(shop, A) == 125


def test_cli_refuses_an_ambiguous_column_without_points_mode(app, ctx, shop, runner, tmp_path):
    add_customers(shop, 1, balance=10)
    path = tmp_path / "balances.csv"
    path.write_bytes(csv_bytes([["shopify_id", "Points"], [A, 25]]))
    refused = runner.invoke(args=["import-points", "--shop", shop.domain, str(path)])
    assert refused.exit_code != 0
    assert "--points-mode add or --points-mode set" in refused.output
    assert count(ImportJob) == 0

    done = runner.invoke(
        args=["import-points", "--shop", shop.domain, "--points-mode", "set", str(path)]
    )
    assert done.exit_code == 0, done.output
    assert balance(shop, A) == 25
    assert [e.delta for e in db.session.execute(select(PointsEntry)).scalars()] == [15]
