"""A points import moves each balance once, at its end: done, cancelled, failed, reverted.

On PostgreSQL the points a running import adds wait for its end (`imports.points_settle`);
a customer with a removal in a batch is checked and moved at once. On SQLite every batch
moves its balances. Either way the balances end the same, and each row counts once.
"""

from __future__ import annotations

import pytest
from sqlalchemy import insert, select, text, update

from shopify_app.imports.decisions import confirm_import
from shopify_app.imports.jobs import revert_import, run_import, sweep_imports
from shopify_app.imports.points_settle import CustomerIds, apply_held_back
from shopify_app.platform.db import is_postgresql
from shopify_app.platform.extensions import db
from shopify_app.platform.models import (
    Customer,
    ImportBalanceMove,
    ImportJob,
    PointBalance,
    PointsEntry,
)
from shopify_app.platform.models.base import utcnow
from tests.csv_imports.importing import (
    add_customers,
    balance,
    count,
    csv_bytes,
    get_import,
    import_file,
    ledger,
    row_errors,
)
from tests.factories import customer_fields

START = 50
#: three batches of two rows: A only adds, B removes in the first batch, C arrives last.
ROWS = [
    ["shopify_id", "points_to_add"],
    ["A", 10],
    ["B", -5],
    ["A", 20],
    ["B", 1],
    ["A", 5],
    ["C", 7],
]


@pytest.fixture
def file_import(app, ctx, shop, monkeypatch):
    """A queued import of ROWS in batches of two; returns (import id, {letter: Shopify id})."""
    a, b, c = add_customers(shop, 3, balance=START)
    ids = {"A": a, "B": b, "C": c}
    rows = [ROWS[0]] + [[ids[letter], points] for letter, points in ROWS[1:]]
    import_id = import_file(shop, csv_bytes(rows))
    job = get_import(import_id)
    job.status, job.apply_with_errors = "queued", True
    db.session.commit()
    monkeypatch.setitem(app.config, "IMPORT_BATCH_ROWS", 2)
    return import_id, ids


def between_batches(monkeypatch, step):
    """Run `step(batch number)` after each batch has committed, where the import rests."""
    calls = []

    def after_batch(redis, seconds):
        calls.append(seconds)
        step(len(calls))

    monkeypatch.setattr("shopify_app.imports.apply.rest_after", after_batch)


def committed_balances(ids: dict[str, int]) -> dict[str, int]:
    """The balances another connection reads (what a shopper's page sees) while the import
    runs."""
    with db.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT c.shopify_id, b.balance FROM point_balances b "
                "JOIN customers c ON c.id = b.customer_id"
            )
        ).all()
    by_id = dict(rows)
    return {letter: by_id[shopify_id] for letter, shopify_id in ids.items()}


def customer_id(shopify_id: int) -> int:
    return db.session.execute(
        select(Customer.id).where(Customer.shopify_id == shopify_id)
    ).scalar_one()


def final(shop, ids) -> dict[str, int]:
    return {letter: balance(shop, shopify_id) for letter, shopify_id in ids.items()}


def test_balances_move_once_at_the_end_and_removals_at_once(shop, file_import, monkeypatch):
    import_id, ids = file_import
    seen: list[dict[str, int]] = []
    between_batches(monkeypatch, lambda batch: seen.append(committed_balances(ids)))

    assert run_import(import_id) == "done"

    if is_postgresql():
        # A's points wait for the end; B's removal moved B (and only B) in the first batch,
        # and B's later +1 waits like anyone's.
        assert seen[0] == {"A": START, "B": START - 5, "C": START}
        assert seen[1] == {"A": START, "B": START - 5, "C": START}
    else:
        assert seen[0] == {"A": START + 10, "B": START - 5, "C": START}
        assert seen[1] == {"A": START + 30, "B": START - 4, "C": START}
    assert final(shop, ids) == {"A": START + 35, "B": START - 4, "C": START + 7}
    # Each row's running balance is the balance the customer has once the import ends.
    by_row = {entry.row_number: entry.balance_after for entry in ledger(import_id)}
    assert by_row == {2: 60, 3: 45, 4: 80, 5: 46, 6: 85, 7: 57}
    job = get_import(import_id)
    assert job.settled_row_number == job.last_row_number == 7
    assert count(ImportBalanceMove) == 0
    dirty = db.session.scalars(select(PointBalance.metafield_dirty)).all()
    assert dirty == [True, True, True]  # the metafield sync has every new balance to write


def test_a_cancelled_import_keeps_and_settles_what_it_applied(shop, file_import, monkeypatch):
    import_id, ids = file_import

    def cancel_after_first(batch):
        if batch == 1:
            with db.engine.begin() as conn:
                conn.execute(update(ImportJob).values(cancel_requested=True))

    between_batches(monkeypatch, cancel_after_first)
    assert run_import(import_id) == "cancelled"
    # The batch running when the merchant cancelled commits, then the import stops.
    assert final(shop, ids) == {"A": START + 30, "B": START - 4, "C": START}
    job = get_import(import_id)
    assert job.status == "cancelled" and job.settled_row_number == job.last_row_number == 5


def test_a_failed_import_settles_and_its_retry_adds_only_the_rest(shop, file_import, monkeypatch):
    import_id, ids = file_import

    def fail_after_second(batch):
        if batch == 2:
            raise RuntimeError("the box ran out of something")

    between_batches(monkeypatch, fail_after_second)
    with pytest.raises(RuntimeError):
        run_import(import_id)
    job = get_import(import_id)
    assert job.status == "failed" and job.settled_row_number == job.last_row_number == 5
    assert final(shop, ids) == {"A": START + 30, "B": START - 4, "C": START}

    between_batches(monkeypatch, lambda batch: None)
    assert run_import(import_id) == "done"  # RQ's retry: it resumes after row 5
    assert final(shop, ids) == {"A": START + 35, "B": START - 4, "C": START + 7}
    assert len(ledger(import_id)) == 6


@pytest.fixture
def stranded(shop, file_import):
    """An import whose worker applied two batches and died in its settle: its rows are in the
    ledger, its points are not in the balances, and it is marked failed."""
    import_id, ids = file_import
    if not is_postgresql():
        pytest.skip("only PostgreSQL holds an import's points back (SQLite moves each batch)")
    pending: dict[int, int] = {}
    customers = CustomerIds(shop.id)
    for first in (2, 4):
        rows = [
            (n, ids[ROWS[n - 1][0]], ROWS[n - 1][1], "Loyalty bonus") for n in (first, first + 1)
        ]
        apply_held_back(shop.id, import_id, rows, customers, pending)
    db.session.execute(update(ImportJob).values(status="failed", last_row_number=5))
    db.session.commit()
    return import_id, ids, pending


def test_the_sweep_settles_an_import_that_ended_without_it(shop, stranded):
    import_id, ids, pending = stranded
    assert pending == {customer_id(ids["A"]): 30, customer_id(ids["B"]): 1}
    assert final(shop, ids) == {"A": START, "B": START - 5, "C": START}

    assert sweep_imports() == 1
    assert final(shop, ids) == {"A": START + 30, "B": START - 4, "C": START}
    assert sweep_imports() == 0  # settled once: the second sweep moves nothing
    assert final(shop, ids) == {"A": START + 30, "B": START - 4, "C": START}


def test_a_resumed_run_holds_back_what_the_dead_one_did(shop, stranded):
    """The runner's pending points are rebuilt from the ledger, less what was moved at once."""
    import_id, ids, _ = stranded
    db.session.execute(update(ImportJob).values(status="running"))
    db.session.commit()

    assert run_import(import_id) == "done"
    assert final(shop, ids) == {"A": START + 35, "B": START - 4, "C": START + 7}
    moved = db.session.execute(select(PointsEntry.row_number)).scalars().all()
    assert sorted(moved) == [2, 3, 4, 5, 6, 7]


def test_reverting_an_import_that_failed_unsettled_takes_back_exactly_what_it_added(shop, stranded):
    """The revert settles first, so it takes back points that are in the balances."""
    import_id, ids, _ = stranded
    db.session.execute(update(ImportJob).values(status="reverting"))
    db.session.commit()

    assert revert_import(import_id) == "reverted"
    assert final(shop, ids) == {"A": START, "B": START, "C": START}
    assert get_import(import_id).settled_row_number == 5


def test_customers_created_or_deleted_while_it_runs_are_read_as_the_batch_finds_them(
    app, ctx, shop, monkeypatch
):
    """The import reads the shop's ids once; a later batch still finds a customer created
    since and rejects the rows of one deleted since, as a batch resolving them itself would."""
    (a, b), late = add_customers(shop, 2, balance=START), 7_100_000_001
    rows = [["shopify_id", "points_to_add"], [a, 1], [b, 1], [late, 3], [b, 2], [late, 4]]
    import_id = import_file(shop, csv_bytes(rows))
    confirm_import(shop, get_import(import_id), apply_with_errors=True)
    db.session.commit()
    monkeypatch.setitem(app.config, "IMPORT_BATCH_ROWS", 2)

    def after(batch):
        if batch == 1:
            with db.engine.begin() as conn:
                created = conn.execute(
                    insert(Customer).returning(Customer.id),
                    [customer_fields(shop, shopify_id=late)],
                ).scalar_one()
                # as the app's customer store writes every new customer: with a balance row
                conn.execute(insert(PointBalance).values(customer_id=created, shop_id=shop.id))
                conn.execute(
                    update(Customer).where(Customer.shopify_id == b).values(deleted_at=utcnow())
                )

    between_batches(monkeypatch, after)
    assert run_import(import_id) == "done"
    assert balance(shop, late) == 7
    assert balance(shop, b) == START + 1  # its row before the deletion only
    assert get_import(import_id).error_rows == 1  # the run rejected row 5 alone
    assert "No customer with Shopify id" in row_errors(import_id)[5].reason


def test_a_removal_is_checked_against_the_balance_as_it_is_then(app, ctx, shop, monkeypatch):
    """Points the customer earned while the import ran count when a later batch checks a
    removal, and that row's running balance starts from them."""
    (a,) = add_customers(shop, 1, balance=START)
    rows = [["shopify_id", "points_to_add"], [a, 10], [a, -120], [a, 5]]
    import_id = import_file(shop, csv_bytes(rows))
    confirm_import(shop, get_import(import_id), apply_with_errors=True)
    db.session.commit()
    monkeypatch.setitem(app.config, "IMPORT_BATCH_ROWS", 1)

    def earn_after_first(batch):
        if batch == 1:  # an order's points, moved by another transaction
            with db.engine.begin() as conn:
                conn.execute(update(PointBalance).values(balance=PointBalance.balance + 100))

    between_batches(monkeypatch, earn_after_first)
    assert run_import(import_id) == "done"
    assert final(shop, {"A": a}) == {"A": START + 100 + 10 - 120 + 5}
    by_row = {entry.row_number: entry.balance_after for entry in ledger(import_id)}
    assert by_row == {2: 60, 3: 40, 4: 45}


def test_a_resumed_run_moves_removals_of_customers_it_held_points_for(app, ctx, shop, monkeypatch):
    """The points a resumed run rebuilds from the ledger are whole numbers like those it
    counts itself: a batch that moves at once a customer with rebuilt points and one
    without applies (it failed mixing PostgreSQL's numeric sums with ints)."""
    if not is_postgresql():
        pytest.skip("only PostgreSQL holds an import's points back (SQLite moves each batch)")
    a, c, d = add_customers(shop, 3, balance=START)
    rows = [["shopify_id", "points_to_add"], [a, 10], [c, 1], [a, -4], [d, -2]]
    import_id = import_file(shop, csv_bytes(rows))
    confirm_import(shop, get_import(import_id), apply_with_errors=True)
    db.session.commit()
    monkeypatch.setitem(app.config, "IMPORT_BATCH_ROWS", 2)
    # The dead run: the first batch applied and committed, its points held back.
    first = [(2, a, 10, "Loyalty bonus"), (3, c, 1, "Loyalty bonus")]
    apply_held_back(shop.id, import_id, first, CustomerIds(shop.id), {})
    db.session.execute(update(ImportJob).values(status="running", last_row_number=3))
    db.session.commit()

    assert run_import(import_id) == "done"
    assert final(shop, {"A": a, "C": c, "D": d}) == {"A": START + 6, "C": START + 1, "D": START - 2}
