"""Events imports run exactly once (re-runs, killed workers), from the CLI, and are erasable."""

from __future__ import annotations

import pytest
from redis import Redis
from sqlalchemy import select

from shopify_app.imports.events_apply import apply_events
from shopify_app.imports.events_preview import events_parser
from shopify_app.imports.jobs import run_import
from shopify_app.imports.preview import open_source
from shopify_app.imports.runs import queue_import
from shopify_app.platform.extensions import db
from shopify_app.platform.models import CustomerEvent, ImportJob, ImportRowError
from tests.csv_imports.events import HEADER, events
from tests.csv_imports.importing import (
    add_customers,
    confirm,
    count,
    csv_bytes,
    get_import,
    import_file,
    upload_ok,
)
from tests.helpers import deliver, run_jobs
from tests.webhooks.test_erasure import EMAIL, FIRST, LAST, traces_left
from tests.workers import wait_for

A, B = 7_000_000_001, 7_000_000_002


def test_running_the_same_job_twice_adds_each_event_once(app, admin, shop):
    add_customers(shop, 2)
    rows = [HEADER, [A, "visit", "2026-01-01", "v-1"], [B, "visit", "2026-01-02", ""]]
    import_id = upload_ok(admin, csv_bytes(rows), kind="events")
    confirm(admin, import_id)
    run_jobs(app)
    assert run_import(import_id) == "skipped"
    queue_import(import_id, 0)
    queue_import(import_id, 7)
    run_jobs(app)
    assert len(events(shop)) == 2 and get_import(import_id).attempts == 1


def test_a_batch_applied_twice_adds_nothing_the_second_time(app, admin, shop):
    add_customers(shop, 1)
    rows = [HEADER, [A, "visit", "2026-01-01", "v-1"], [A, "visit", "2026-01-02", "v-2"]]
    import_id = upload_ok(admin, csv_bytes(rows), kind="events")
    job = get_import(import_id)
    source = open_source(job)
    parser = events_parser(job, source)
    parsed = [parser(number, values) for number, values in source.rows()]
    assert apply_events(shop, import_id, parsed).added == 2
    db.session.commit()
    again = apply_events(shop, import_id, parsed)
    db.session.commit()
    assert (again.added, again.already_imported, again.repeated_rows, again.rejections) == (
        0,
        0,
        0,
        [],
    )
    assert count(CustomerEvent) == 2


@pytest.mark.slow
def test_worker_killed_mid_import_resumes_and_adds_each_event_once(app, admin, shop, workers):
    customers = add_customers(shop, 500)
    rows: list[list] = [[*HEADER, "amount"]]
    for n in range(150_000):
        rows.append([customers[n % 500], f"event_{n % 7}", f"2026-01-01T00:00:{n % 60:02}Z", n, n])
    import_id = import_file(shop, csv_bytes(rows), name="events.csv", kind="events")
    confirm(admin, import_id)
    first = workers.start()
    wait_for(lambda: 0 < get_import(import_id).processed_rows, timeout=120, interval=0.02)
    first.kill()
    job = get_import(import_id)
    assert job.status == "running" and job.processed_rows < 150_000, "killed too late"
    killed_at = job.processed_rows

    Redis.from_url(app.config["REDIS_URL"]).delete("shopify_app:sweeper")
    workers.start()
    wait_for(lambda: get_import(import_id).status == "done", timeout=180)
    job = get_import(import_id)
    assert job.attempts == 2 and killed_at < job.processed_rows == 150_000
    assert job.applied_rows == 150_000 == count(CustomerEvent)
    assert job.summary["result"]["added"] == 150_000


def test_import_events_from_the_command_line(runner, shop, tmp_path):
    add_customers(shop, 1)
    path = tmp_path / "events.csv"
    rows = [HEADER, [A, "visit", "2026-01-01 09:00", "v-1"], [A, "visit", "2099-01-01", "v-2"]]
    path.write_bytes(csv_bytes(rows))
    args = ["import-events", "--shop", shop.domain, "--timezone", "Asia/Tokyo", str(path)]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    assert "1 new events, 0 already imported" in result.output
    assert "times without an offset read in Asia/Tokyo" in result.output
    assert "row 3: timestamp '2099-01-01': timestamp is in the future" in result.output
    assert "done: 1 rows applied, 1 rejected" in result.output
    assert [e.occurred_at.hour for e in events(shop)] == [0]  # 09:00 in Tokyo

    again = runner.invoke(args=args)
    assert again.exit_code == 0 and "0 new events, 1 already imported" in again.output
    assert count(CustomerEvent) == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b"shopify_id,timestamp\r\n1,2026-01-01\r\n", "Missing required column: event_name"),
        (b"event_name,timestamp\r\nvisit,2026-01-01\r\n", "shopify_id or email"),
        (b"PK\x03\x04rest", "looks like an Excel workbook"),
    ],
)
def test_a_wrong_file_exits_non_zero_and_changes_nothing(runner, shop, tmp_path, content, message):
    path = tmp_path / "events.csv"
    path.write_bytes(content)
    result = runner.invoke(args=["import-events", "--shop", shop.domain, str(path)])
    assert result.exit_code != 0 and message in result.output
    assert count(ImportJob) == 0 and count(CustomerEvent) == 0


def test_an_unknown_timezone_exits_non_zero(runner, shop, tmp_path):
    path = tmp_path / "events.csv"
    path.write_bytes(csv_bytes([HEADER, [A, "visit", "2026-01-01", "v"]]))
    args = ["import-events", "--shop", shop.domain, "--timezone", "Nowhere/City", str(path)]
    result = runner.invoke(args=args)
    assert result.exit_code != 0 and "'Nowhere/City' is not a timezone name" in result.output
    assert count(ImportJob) == 0


def test_customers_redact_erases_the_events_import_traces(app, client, admin, shop, shopify_double):
    d = shopify_double
    zelda = d.add_customer(shop.domain, first_name=FIRST, last_name=LAST, email=EMAIL)
    deliver(client, d, "customers/create", shop.domain, d.customer_payload(shop.domain, zelda))
    run_jobs(app)
    rows = [
        ["email", "event_name", "timestamp", "note"],
        [EMAIL, "review_posted", "2026-01-01", f"{FIRST} {LAST} loved it"],
        [EMAIL, "review_posted", "2099-01-01", "from the future"],  # a rejected row
    ]
    done = upload_ok(admin, csv_bytes(rows), kind="events")
    confirm(admin, done)
    run_jobs(app)
    waiting = upload_ok(
        admin, csv_bytes([*rows, [EMAIL, "visit", "2026-01-02", ""]]), kind="events"
    )
    assert len(events(shop)) == 1
    assert db.session.scalars(select(ImportRowError.import_id)).all()
    assert any("import_row_errors" in t for t in traces_left(app))

    payload = d.compliance_payload("customers/redact", shop.domain, {"id": zelda["id"]})
    deliver(client, d, "customers/redact", shop.domain, payload)
    run_jobs(app)
    assert traces_left(app) == []
    assert events(shop) == [] and get_import(waiting).status == "previewed"
