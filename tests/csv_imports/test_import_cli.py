"""`flask import-points` / `import-contacts`: the same flow from a terminal."""

from __future__ import annotations

from shopify_app.platform.models import Customer, ImportJob, PointsEntry, Segment, SegmentMember
from tests.csv_imports.importing import add_customers, balance, count, csv_bytes, ledger

A = 7_000_000_001


def test_import_points_dry_run_prints_the_preview_and_changes_nothing(runner, shop, tmp_path):
    add_customers(shop, 1)
    path = tmp_path / "points.csv"
    path.write_bytes(csv_bytes([["shopify_id", "points_to_add"], [A, 10], [A, "x"]]))
    result = runner.invoke(args=["import-points", "--shop", shop.domain, "--dry-run", str(path)])
    assert result.exit_code == 0, result.output
    assert "1 rows add 10 points to 1 customers; 1 rows rejected" in result.output
    assert "row 3: points_to_add 'x': points_to_add is not a whole number" in result.output
    assert "dry run: nothing was changed" in result.output
    assert count(ImportJob) == 0 and count(PointsEntry) == 0 and balance(shop, A) == 0


def test_import_points_applies_through_the_job(runner, shop, tmp_path):
    add_customers(shop, 1)
    path = tmp_path / "points.csv"
    path.write_bytes(csv_bytes([["shopify_id", "points_to_add", "description"], [A, 10, "CLI"]]))
    result = runner.invoke(args=["import-points", "--shop", shop.domain, str(path)])
    assert result.exit_code == 0, result.output
    assert "done: 1 rows applied, 0 rejected" in result.output
    assert balance(shop, A) == 10 and ledger()[0].description == "CLI"

    again = runner.invoke(args=["import-points", "--shop", shop.domain, str(path)])
    assert again.exit_code == 1 and "identical to an earlier import" in again.output
    assert balance(shop, A) == 10


def test_import_contacts_into_a_segment(runner, shop, tmp_path):
    path = tmp_path / "contacts.csv"
    path.write_bytes(b"First Name,Last Name,Email\r\nAda,Lovelace,ada@example.com\r\n")
    result = runner.invoke(
        args=["import-contacts", "--shop", shop.domain, "--segment", "Press", str(path)]
    )
    assert result.exit_code == 0, result.output
    assert count(Customer) == 1 and count(Segment) == 1 and count(SegmentMember) == 1


def test_unknown_shop_and_bad_file_fail_clearly(runner, shop, tmp_path):
    path = tmp_path / "points.csv"
    path.write_bytes(b"")
    unknown = runner.invoke(args=["import-points", "--shop", "nope.myshopify.com", str(path)])
    assert unknown.exit_code == 2 and "no installed shop" in unknown.output
    empty = runner.invoke(args=["import-points", "--shop", shop.domain, str(path)])
    assert empty.exit_code == 1 and "points.csv is empty" in empty.output
