"""An all-or-nothing import reads its stored file once: the check before applying is the read.

Rows are counted as the real reader yields them (`CsvSource.rows`, wrapped, not replaced),
from the moment the merchant confirms: the preview at upload is a read of its own.
"""

from __future__ import annotations

from collections import Counter

import pytest

from shopify_app.imports import apply
from shopify_app.imports.reading import CsvSource
from tests.csv_imports.importing import (
    add_customers,
    balance,
    confirm,
    csv_bytes,
    get_import,
    ledger,
    upload_ok,
)
from tests.helpers import run_jobs

A, B = 7_000_000_001, 7_000_000_002


@pytest.fixture
def rows_read(monkeypatch) -> Counter[int]:
    """How many times each spreadsheet row was read from a stored file, counted as it is yielded."""
    read: Counter[int] = Counter()
    real_rows = CsvSource.rows

    def counting_rows(self, *args, **kwargs):
        for row_number, values in real_rows(self, *args, **kwargs):
            read[row_number] += 1
            yield row_number, values

    monkeypatch.setattr(CsvSource, "rows", counting_rows)
    return read


def points_file(count: int) -> bytes:
    return csv_bytes(
        [["shopify_id", "points_to_add"]] + [[A if n % 2 else B, n] for n in range(1, count + 1)]
    )


def test_all_or_nothing_points_import_reads_each_row_once(app, admin, shop, rows_read):
    add_customers(shop, 2)
    import_id = upload_ok(admin, points_file(6))
    confirm(admin, import_id, apply_with_errors="0")
    rows_read.clear()
    run_jobs(app)

    assert get_import(import_id).status == "done"
    assert rows_read == Counter(range(2, 8))
    assert [balance(shop, A), balance(shop, B)] == [1 + 3 + 5, 2 + 4 + 6]
    assert [entry.row_number for entry in ledger(import_id)] == list(range(2, 8))


def test_all_or_nothing_contacts_import_reads_each_row_once(app, admin, shop, rows_read):
    content = csv_bytes(
        [["first_name", "last_name", "email"]]
        + [["Ann", f"Row{n}", f"ann{n}@example.com"] for n in range(1, 5)]
    )
    import_id = upload_ok(
        admin,
        content,
        name="contacts.csv",
        kind="contacts",
        segment_id="new",
        new_segment="Newsletter",
    )
    confirm(admin, import_id, apply_with_errors="0")
    rows_read.clear()
    run_jobs(app)

    job = get_import(import_id)
    assert job.status == "done" and job.summary["result"]["created"] == 4
    assert rows_read == Counter(range(2, 6))


def test_a_file_longer_than_the_check_holds_reads_again_only_the_rest(
    app, admin, shop, monkeypatch, rows_read
):
    """Memory stays bounded: the check keeps the first batches parsed, and reads the rest again."""
    monkeypatch.setitem(app.config, "IMPORT_BATCH_ROWS", 2)
    add_customers(shop, 2)
    import_id = upload_ok(admin, points_file(9))
    confirm(admin, import_id, apply_with_errors="0")
    rows_read.clear()
    run_jobs(app)

    held = 2 * apply.HELD_BATCHES
    assert get_import(import_id).status == "done"
    assert rows_read == Counter({row: 1 if row < 2 + held else 2 for row in range(2, 11)})
    assert [balance(shop, A), balance(shop, B)] == [1 + 3 + 5 + 7 + 9, 2 + 4 + 6 + 8]
    assert [entry.row_number for entry in ledger(import_id)] == list(range(2, 11))
