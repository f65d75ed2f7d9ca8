"""The points preview's one-loop path for preloaded shops reads every row as the general
path does: the same figures, the same rejected rows with the same reasons."""

from __future__ import annotations

from shopify_app.imports import points_preview
from shopify_app.platform.extensions import db
from shopify_app.platform.models import ImportRowError
from tests.csv_imports.importing import add_customers, csv_bytes, get_import, import_file
from tests.csv_imports.test_points_import import BAD_ROWS

A, B, C = 7_000_000_001, 7_000_000_002, 7_000_000_003
ROWS = [
    ["shopify_id", "points_to_add", "description"],
    *[[f'"{v}"' if isinstance(v, str) and "," in v else v for v in r[:3]] for r in BAD_ROWS],
    [A, "+25", "Plus sign"],
    [f"gid://shopify/Customer/{B}", 40, "Gid form"],
    [f" {C} ", " -30 ", "  Spaces trimmed  "],
    [C, 5, ""],
    [C, 20, "A"],
    [C, -95, "All of it after the rows before"],  # 100 - 30 + 5 + 20 = 95: applies
    [C, -1, "One too many"],  # the balance is 0 now
    [A, 7, "Extra", "cells"],
    [B],
    [C, 3, '"Quoted, with a comma"'],
]


def _preview(shop) -> tuple[dict, list[tuple[int, str | None, str]]]:
    import_id = import_file(shop, csv_bytes(ROWS))
    errors = db.session.execute(
        db.select(ImportRowError.row_number, ImportRowError.column, ImportRowError.reason)
        .where(ImportRowError.import_id == import_id)
        .order_by(ImportRowError.row_number)
    ).all()
    return get_import(import_id).summary["preview"], [tuple(e) for e in errors]


def test_the_one_loop_path_reads_every_row_as_the_general_path(ctx, shop, monkeypatch):
    add_customers(shop, 3, balance=100)
    fused, fused_errors = _preview(shop)
    monkeypatch.setattr(points_preview, "PRELOAD_CUSTOMERS", 0)  # look customers up by chunk
    general, general_errors = _preview(shop)

    assert fused == general
    assert fused_errors == general_errors
    assert (fused["rows"], fused["valid_rows"], fused["customers"]) == (25, 7, 3)
    assert fused["points_total"] == 25 + 40 - 30 + 5 + 20 - 95 + 3
    rejected = {row: (column, reason) for row, column, reason in fused_errors}
    assert set(rejected) == {*range(2, 17), 23, 24, 25}
    assert rejected[23] == ("points_to_add", "The balance would go below zero (0 -1)")
    assert rejected[24] == (None, "The row has more values than the header has columns")
    assert rejected[25] == ("points_to_add", "points_to_add is empty")
