"""Exactly once: re-run jobs, duplicate workers, re-uploaded files and a SIGKILLed worker."""

from __future__ import annotations

import html

import pytest
from redis import Redis
from sqlalchemy import func, select, update

from shopify_app.imports.jobs import run_import, sweep_imports
from shopify_app.imports.points_ledger import apply_points
from shopify_app.imports.runs import queue_import
from shopify_app.platform.extensions import db, queue
from shopify_app.platform.models import Customer, ImportJob, PointBalance, PointsEntry
from shopify_app.platform.models.base import utcnow
from tests.csv_imports.importing import (
    add_customers,
    balance,
    confirm,
    count,
    csv_bytes,
    get_import,
    import_file,
    ledger,
    upload_ok,
)
from tests.helpers import run_jobs
from tests.workers import wait_for

A, B = 7_000_000_001, 7_000_000_002


def _simple_import(admin, shop) -> int:
    add_customers(shop, 2)
    content = csv_bytes([["shopify_id", "points_to_add"], [A, 10], [B, 20], [A, 5]])
    import_id = upload_ok(admin, content)
    confirm(admin, import_id)
    return import_id


def test_running_the_same_job_twice_applies_each_row_once(app, admin, shop):
    import_id = _simple_import(admin, shop)
    run_jobs(app)
    assert run_import(import_id) == "skipped"
    queue_import(import_id, 0)  # the same RQ job id again, as a retry would
    queue_import(import_id, 7)
    run_jobs(app)

    assert [balance(shop, A), balance(shop, B)] == [15, 20]
    assert len(ledger(import_id)) == 3
    assert get_import(import_id).attempts == 1


def test_a_batch_applied_twice_adds_nothing_the_second_time(app, ctx, admin, shop):
    import_id = _simple_import(admin, shop)
    customer = db.session.execute(select(Customer).where(Customer.shopify_id == A)).scalar_one()
    rows = [(2, A, 10, "x"), (4, A, 5, "y")]
    assert apply_points(shop.id, import_id, rows) == (2, [])
    db.session.commit()
    assert apply_points(shop.id, import_id, rows) == (0, [])
    db.session.commit()
    db.session.refresh(customer)
    assert customer.points_balance == 15
    assert count(PointsEntry) == 2


@pytest.mark.slow
def test_two_workers_on_the_same_import_apply_each_row_once(app, admin, shop, workers):
    add_customers(shop, 50)
    rows = [["shopify_id", "points_to_add"]] + [[A + n % 50, 1] for n in range(60_000)]
    import_id = import_file(shop, csv_bytes(rows))
    confirm(admin, import_id)
    queue_import(import_id, 99)  # a second job for the same import
    workers.start()
    workers.start()
    wait_for(lambda: get_import(import_id).status == "done", timeout=120)
    total = db.session.execute(select(func.sum(PointBalance.balance))).scalar_one()
    assert total == 60_000
    assert count(PointsEntry) == 60_000
    assert get_import(import_id).attempts == 1


def test_same_file_uploaded_again_needs_an_explicit_confirmation(app, admin, shop):
    import_id = _simple_import(admin, shop)
    run_jobs(app)
    content = csv_bytes([["shopify_id", "points_to_add"], [A, 10], [B, 20], [A, 5]])
    again = upload_ok(admin, content)
    page = html.unescape(admin.get(f"/imports/{again}").get_data(as_text=True))
    assert "This file was already imported" in page
    assert f"import #{import_id}" in page

    confirm(admin, again)  # without ticking "Import it again"
    run_jobs(app)
    assert get_import(again).status == "previewed"
    assert [balance(shop, A), balance(shop, B)] == [15, 20]
    assert "identical to an earlier import" in html.unescape(
        admin.get(f"/imports/{again}").get_data(as_text=True)
    )

    confirm(admin, again, confirm_duplicate="1")
    run_jobs(app)
    assert [balance(shop, A), balance(shop, B)] == [30, 40]


def test_confirming_twice_queues_the_import_once(app, admin, shop):
    import_id = _simple_import(admin, shop)
    confirm(admin, import_id)
    run_jobs(app)
    assert [balance(shop, A), balance(shop, B)] == [15, 20]


def _valid_sum(rows: list[list]) -> int:
    return sum(r[1] for r in rows[1:] if isinstance(r[1], int))


@pytest.mark.slow
def test_worker_killed_mid_import_resumes_and_applies_each_row_once(app, admin, shop, workers):
    customers = add_customers(shop, 2_000)
    rows: list[list] = [["shopify_id", "points_to_add", "description"]]
    for n in range(300_000):
        if n % 1000 == 7:
            rows.append([customers[n % 2_000], "bad", "rejected"])
        else:
            rows.append([customers[n % 2_000], 1 + n % 3, "Bonus"])
    import_id = import_file(shop, csv_bytes(rows))
    confirm(admin, import_id)
    first = workers.start()
    wait_for(lambda: 0 < get_import(import_id).processed_rows, timeout=120, interval=0.02)
    first.kill()
    job = get_import(import_id)
    assert job.status == "running" and job.processed_rows < 300_000, "killed too late"
    killed_at = job.processed_rows

    # The sweeper (every worker runs one) sees the import's lock free and re-queues it.
    Redis.from_url(app.config["REDIS_URL"]).delete("shopify_app:sweeper")
    workers.start()
    wait_for(lambda: get_import(import_id).status == "done", timeout=180)

    job = get_import(import_id)
    assert job.attempts == 2 and killed_at < job.processed_rows == 300_000
    assert job.applied_rows == 299_700 and job.error_rows == 300
    total = db.session.execute(select(func.sum(PointBalance.balance))).scalar_one()
    assert total == _valid_sum(rows)
    assert count(PointsEntry) == 299_700


def test_sweeper_requeues_an_import_whose_job_never_reached_redis(app, admin, shop):
    _simple_import(admin, shop)
    queue().empty()  # as if Redis lost the job after the confirm committed

    db.session.execute(update(ImportJob).values(updated_at=utcnow().replace(year=2000)))
    db.session.commit()
    assert sweep_imports() == 1
    assert sweep_imports() == 0  # already waiting in the queue
    run_jobs(app)
    assert [balance(shop, A), balance(shop, B)] == [15, 20]
