"""Benchmark: a 1,000,000-row events CSV against 200,000 customers, then the same file again.

Runs the real flow on its own PostgreSQL database: the validated preview (the upload
service, timed apart), then confirm → a real `flask --app app worker` subprocess → done: the
job reads the file, COPYs each batch into its stage and inserts the events (one name in 50
earns points, so the set-based earning runs too). Then the same file is uploaded and imported
again, which must add nothing. Prints rows/s for both runs and the counts, and a floor
measured in the same run: the same events inserted by one plain INSERT … SELECT.

    .venv/bin/python bench/bench_events_import.py [--rows 1000000] [--customers 200000]

Targets (2-core machine): ≥ 40,000 rows/s for the first run; the re-import in under a tenth
of its time, adding no event and no point.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_imports import (  # noqa: E402
    FIRST_ID,
    PG_URL,
    Worker,
    recreate_database,
    seed,
    settings,
    wait_status,
)
from shopify_app import create_app  # noqa: E402
from shopify_app.imports.decisions import confirm_import  # noqa: E402
from shopify_app.imports.preview import create_import  # noqa: E402
from shopify_app.imports.runs import queue_import  # noqa: E402
from shopify_app.platform.extensions import db, redis_conn  # noqa: E402
from shopify_app.platform.models import CustomerEvent, PointsEntry, Shop  # noqa: E402
from shopify_app.program.config import get_settings  # noqa: E402

URL = PG_URL.rsplit("/", 1)[0] + "/bench_events"
NAMES = [f"event_{n:02}" for n in range(49)] + ["review_posted"]
PRODUCTS = ["Linen shirt", "Wool socks", 'Poster "Waves", large', "Gift card"]


def write_file(path: Path, rows: int, customers: int, seed_: int = 7) -> None:
    """Every row a distinct event_id; times in mixed ISO formats; two property columns."""
    rng = random.Random(seed_)
    with open(path, "w", encoding="utf-8", newline="") as out:
        out.write("shopify_id,event_name,timestamp,event_id,product,amount\r\n")
        for n in range(rows):
            shopify_id = FIRST_ID + rng.randrange(customers)
            day, second = 1 + n % 28, n % 86_400
            clock = f"{second // 3600:02}:{second // 60 % 60:02}:{second % 60:02}"
            stamp = f"2025-03-{day:02}T{clock}Z" if n % 2 else f"2025-03-{day:02} {clock}"
            product = PRODUCTS[n % len(PRODUCTS)]
            if '"' in product:
                product = '"' + product.replace('"', '""') + '"'
            amount = f"{rng.randrange(100, 20_000) / 100:.2f}"
            out.write(f"{shopify_id},{NAMES[n % 50]},{stamp},evt-{n},{product},{amount}\r\n")


def run_once(shop: Shop, path: Path) -> tuple[int, float, float]:
    """Preview, confirm, wait for the worker; returns (import id, preview s, job s)."""
    started = time.perf_counter()
    with open(path, "rb") as stream:
        job = create_import(shop, "events", path.name, stream, timezone="Europe/Paris")
    db.session.commit()
    preview_s = time.perf_counter() - started
    confirm_import(shop, job, apply_with_errors=True)
    db.session.commit()
    started = time.perf_counter()
    queue_import(job.id, job.attempts)
    done = wait_status(job.id, {"done", "failed"}, timeout=1800)
    assert done.status == "done", (done.status, done.error_message, done.summary)
    return job.id, preview_s, time.perf_counter() - started


def counts(shop: Shop) -> tuple[int, int]:
    db.session.expire_all()
    events = db.session.execute(
        select(func.count()).where(CustomerEvent.shop_id == shop.id)
    ).scalar_one()
    earned = db.session.execute(
        select(func.count()).where(PointsEntry.shop_id == shop.id, PointsEntry.source == "event")
    ).scalar_one()
    db.session.commit()
    return events, earned


def raw_insert_seconds(shop_id: int) -> float:
    """The floor: the same events inserted by one plain INSERT … SELECT into the empty table
    (its five indexes, key order), no Python, no conflict check; rolled back."""
    conn = db.engine.raw_connection()
    try:
        cursor = conn.cursor()
        columns = "shop_id, customer_id, name, occurred_at, event_key, external_id, properties"
        cursor.execute(
            f"CREATE TEMP TABLE raw_events AS SELECT {columns}, import_id, row_number "
            "FROM customer_events WHERE shop_id = %s",
            (shop_id,),
        )
        cursor.execute("DELETE FROM points_entries WHERE source = 'event'")
        cursor.execute("DELETE FROM customer_events")
        started = time.perf_counter()
        cursor.execute(
            f"INSERT INTO customer_events ({columns}, import_id, row_number, created_at) "
            f"SELECT {columns}, import_id, row_number, now() FROM raw_events "
            'ORDER BY event_key COLLATE "C"'
        )
        return time.perf_counter() - started
    finally:
        conn.rollback()
        conn.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=200_000)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-events-"))
    recreate_database(URL)
    env = settings(URL, workdir)
    app = create_app({**env, "SQLALCHEMY_DATABASE_URI": URL})
    with app.app_context():
        redis_conn().flushdb()
        shop = seed(app, args.customers)
        program = get_settings(shop)
        program.earn_events, program.event_points = True, {"review_posted": 25}
        db.session.commit()
        path = workdir / "events.csv"
        write_file(path, args.rows, args.customers)
        size_mb = path.stat().st_size / 1024 / 1024
        print(f"file: {args.rows:,} rows, {size_mb:.0f} MB; {args.customers:,} customers")
        worker = Worker(env)
        try:
            first_id, preview_s, first_s = run_once(shop, path)
            events, earned = counts(shop)
            print(
                f"first import: {first_s:.1f} s, {args.rows / first_s:,.0f} rows/s "
                f"(preview {preview_s:.1f} s); {events:,} events, {earned:,} earned points"
            )
            second_id, preview_s, second_s = run_once(shop, path)
            again, earned_again = counts(shop)
            print(
                f"re-import: {second_s:.2f} s, {args.rows / second_s:,.0f} rows/s "
                f"(preview {preview_s:.1f} s, {second_s / first_s:.1%} of the first); "
                f"added {again - events:,} events, {earned_again - earned:,} earned points"
            )
            raw_s = raw_insert_seconds(shop.id)
            print(
                f"floor: the same events by one plain INSERT … SELECT in {raw_s:.1f} s "
                f"({args.rows / raw_s:,.0f} rows/s; the import runs at {raw_s / first_s:.0%} of it)"
            )
            ok = args.rows / first_s >= 40_000 and second_s < first_s / 10 and again == events
            print("targets met" if ok else "TARGETS MISSED", f"(imports #{first_id}, #{second_id})")
        finally:
            worker.stop()


if __name__ == "__main__":
    main()
