"""Benchmark: a 1,000,000-row points CSV (1% bad rows) against 200,000 customers.

Runs the real flow on its own PostgreSQL database: the validated preview (the upload
service), then confirm → a real `flask --app app worker` subprocess → done. Prints time from
confirm to done, rows/s, the worker's peak RSS, the preview time, and the time a SIGKILLed
worker's import takes to resume. Then the same on SQLite with a smaller file (it says so).

    .venv/bin/python bench/bench_imports.py [--rows 1000000] [--customers 200000]

Beside its own figures it prints two floors measured in the same run: a raw psycopg COPY +
set-based ledger insert + balance upsert of the same rows (rolled back), and a raw csv parse +
validate of the file.

Targets (2-core machine): the import at ≥ 0.85 of the raw rate, the preview ≤ 2x the raw parse,
peak worker memory < 250 MB, a killed import resumed within 2 minutes.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, false, func, insert, literal, select, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from shopify_app import create_app  # noqa: E402
from shopify_app.imports.decisions import confirm_import  # noqa: E402
from shopify_app.imports.preview import create_import  # noqa: E402
from shopify_app.imports.runs import queue_import  # noqa: E402
from shopify_app.platform.extensions import db, redis_conn
from shopify_app.platform.models import Customer, ImportJob, PointBalance, PointsEntry, Shop

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_imports"
REDIS_URL = os.environ.get("BENCH_IMPORTS_REDIS_URL", "redis://127.0.0.1:6379/11")
FIRST_ID = 7_412_000_000_000
#: every seeded customer's balance before the import.
STARTING = 50


def recreate_database(url: str) -> None:
    parsed = make_url(url)
    if parsed.drivername.startswith("sqlite"):
        Path(parsed.database).unlink(missing_ok=True)
        return
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()


def settings(url: str, workdir: Path) -> dict[str, str]:
    return {
        "DATABASE_URL": url,
        "REDIS_URL": REDIS_URL,
        "RQ_QUEUE": "bench-imports",
        "IMPORT_DIR": str(workdir / "imports"),
        "EXPORT_DIR": str(workdir / "exports"),
        "SECRET_KEY": "bench-secret",
    }


def seed(app, customers: int) -> Shop:
    """Schema through the migrations, one shop, `customers` customers (bulk, not timed)."""
    from flask_migrate import upgrade

    upgrade(directory=str(ROOT / "migrations"), revision="heads")
    shop = Shop(domain="bench-shop.myshopify.com", name="Bench")
    db.session.add(shop)
    db.session.commit()
    shop_id = shop.id  # read before COPY: a lazy load inside it would wait forever
    rows = (
        {
            "shop_id": shop_id,
            "shopify_id": FIRST_ID + n,
            "email": f"customer{n}@example.com",
            "email_key": f"customer{n}@example.com",
            "email_canonical": f"customer{n}@example.com",
            "first_name": "Customer",
            "last_name": str(n),
            "state": "ENABLED" if n % 3 else "DISABLED",
            "is_member": bool(n % 3),
        }
        for n in range(customers)
    )
    if db.engine.dialect.name == "postgresql":
        cursor = db.session.connection().connection.driver_connection.cursor()
        columns = (
            "shop_id, shopify_id, email, email_key, email_canonical, first_name, last_name, "
            "state, is_member, tags, unsubscribed, total_referees, "
            "successful_referrals, referrer_revenue_minor, referee_revenue_minor, created_at, "
            "updated_at"
        )
        with cursor.copy(f"COPY customers ({columns}) FROM STDIN") as copy:
            for r in rows:
                copy.write_row(
                    (
                        r["shop_id"],
                        r["shopify_id"],
                        r["email"],
                        r["email_key"],
                        r["email_canonical"],
                        r["first_name"],
                        r["last_name"],
                        r["state"],
                        r["is_member"],
                        "",
                        False,
                        0,
                        0,
                        0,
                        0,
                        "2026-01-01",
                        "2026-01-01",
                    )
                )
        db.session.commit()
        add_balances(shop_id)
        db.session.execute(text("ANALYZE customers"))
        db.session.execute(text("ANALYZE point_balances"))
        db.session.commit()
    else:
        batch = []
        for r in rows:
            batch.append(r)
            if len(batch) == 10_000:
                db.session.execute(Customer.__table__.insert(), batch)
                batch = []
        if batch:
            db.session.execute(Customer.__table__.insert(), batch)
        add_balances(shop_id)
        db.session.commit()
    return shop


def add_balances(shop_id: int) -> None:
    """Every customer's balance row, 50 points each (as customers get theirs in the app)."""
    db.session.execute(
        insert(PointBalance).from_select(
            ["customer_id", "shop_id", "balance", "metafield_dirty"],
            select(Customer.id, Customer.shop_id, literal(STARTING), false()).where(
                Customer.shop_id == shop_id
            ),
        )
    )


def write_file(path: Path, rows: int, customers: int, seed_: int = 42) -> tuple[int, int]:
    """A points CSV with realistic ids and 1% bad rows; returns (valid rows, points added)."""
    rng = random.Random(seed_)
    valid = points = 0
    bad_kinds = ["unknown", "letters", "zero", "decimal", "overdraw", "gidorder", "huge"]
    with open(path, "w", encoding="utf-8", newline="") as out:
        out.write("shopify_id,points_to_add,description\r\n")
        for n in range(rows):
            shopify_id = FIRST_ID + rng.randrange(customers)
            if n % 100 == 57:
                kind = bad_kinds[n // 100 % len(bad_kinds)]
                value = {
                    "unknown": f"{FIRST_ID + customers + n},10,Unknown customer",
                    "letters": f"{shopify_id},ten,Not a number",
                    "zero": f"{shopify_id},0,Zero",
                    "decimal": f"{shopify_id},2.5,Decimal",
                    "overdraw": f"{shopify_id},-900000,Overdraw",
                    "gidorder": f"gid://shopify/Order/{shopify_id},10,Wrong gid",
                    "huge": f"{shopify_id},5000000,Too many",
                }[kind]
                out.write(value + "\r\n")
                continue
            delta = rng.choice((5, 10, 25, 50, 100, 250))
            ident = f"gid://shopify/Customer/{shopify_id}" if n % 50 == 3 else str(shopify_id)
            description = 'Spring campaign, "double points"' if n % 20 == 0 else "Loyalty bonus"
            quoted = (
                f'"{description.replace(chr(34), chr(34) * 2)}"'
                if "," in description
                else description
            )
            out.write(f"{ident},{delta},{quoted}\r\n")
            valid += 1
            points += delta
    return valid, points


def raw_parse_seconds(path: Path, shop_id: int) -> float:
    """The floor under the preview: csv-parse the file, read each id and number, and look the
    ids up among the shop's customers (one query), with no bookkeeping at all."""
    started = time.perf_counter()
    known = set(
        db.session.execute(select(Customer.shopify_id).where(Customer.shop_id == shop_id)).scalars()
    )
    valid = 0
    with open(path, encoding="utf-8", newline="") as stream:
        reader = csv.reader(stream)
        next(reader)
        for ident, points, _description in reader:
            try:
                shopify_id = int(ident.removeprefix("gid://shopify/Customer/"))
                delta = int(points)
            except ValueError:
                continue
            valid += delta != 0 and shopify_id in known
    db.session.commit()
    assert valid > 0
    return time.perf_counter() - started


def raw_import_seconds(path: Path, shop_id: int, batch: int | None = None) -> float:
    """The floor under the import, on the same database after it: COPY the valid rows into a
    temporary table, one set-based ledger insert (with running balances) and one balance
    upsert, with psycopg and no framework; rolled back, so nothing stays. With `batch`, the
    same per batch of that many rows (as the import commits them), so each batch moves its
    customers' balances again."""
    rows = []
    with open(path, encoding="utf-8", newline="") as stream:
        reader = csv.reader(stream)
        next(reader)
        for n, (ident, points, description) in enumerate(reader):
            if n % 100 != 57:  # the bad rows, by construction (write_file)
                shopify_id = ident.removeprefix("gid://shopify/Customer/")
                rows.append(f"{n + 2}\t{shopify_id}\t{points}\t{description}\n")
    size = batch or len(rows)
    chunks = ["".join(rows[start : start + size]) for start in range(0, len(rows), size)]
    connection = db.engine.raw_connection()
    cursor = connection.driver_connection.cursor()
    started = time.perf_counter()
    cursor.execute(
        "CREATE TEMPORARY TABLE raw_stage (row_number integer, shopify_id bigint, "
        "delta bigint, description text)"
    )
    for chunk in chunks:
        cursor.execute("TRUNCATE raw_stage")
        with cursor.copy("COPY raw_stage FROM STDIN") as copy:
            copy.write(chunk)
        cursor.execute(RAW_LEDGER_INSERT, {"shop": shop_id})
        cursor.execute(RAW_BALANCE_UPSERT, {"shop": shop_id})
    elapsed = time.perf_counter() - started
    connection.rollback()
    connection.close()
    return elapsed


RAW_LEDGER_INSERT = (
    "INSERT INTO points_entries (shop_id, customer_id, delta, balance_after, description, "
    "source, import_id, row_number, created_at) "
    "SELECT %(shop)s, c.id, s.delta, b.balance + sum(s.delta) OVER "
    "(PARTITION BY c.id ORDER BY s.row_number), s.description, 'raw', -1, s.row_number, now() "
    "FROM raw_stage s JOIN customers c ON c.shop_id = %(shop)s AND c.shopify_id = s.shopify_id "
    "JOIN point_balances b ON b.customer_id = c.id"
)
RAW_BALANCE_UPSERT = (
    "INSERT INTO point_balances AS b (customer_id, shop_id, balance) "
    "SELECT c.id, %(shop)s, sum(s.delta) FROM raw_stage s JOIN customers c "
    "ON c.shop_id = %(shop)s AND c.shopify_id = s.shopify_id GROUP BY c.id ORDER BY c.id "
    "ON CONFLICT (customer_id) DO UPDATE SET balance = b.balance + excluded.balance"
)


class Worker:
    def __init__(self, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "app", "worker"],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def peak_rss_mb(self) -> float:
        with open(f"/proc/{self.process.pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        return float("nan")

    def kill(self) -> None:
        """SIGKILL the worker and its scheduler child (an OOM kill of the container)."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=30)


def wait_status(import_id: int, statuses: set[str], timeout: float = 600) -> ImportJob:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        db.session.expire_all()
        job = db.session.get(ImportJob, import_id)
        db.session.commit()
        if job.status in statuses:
            return job
        time.sleep(0.1)
    raise TimeoutError(f"import {import_id} not {statuses} after {timeout}s")


def preview(shop: Shop, path: Path) -> tuple[ImportJob, float]:
    started = time.perf_counter()
    with open(path, "rb") as stream:
        job = create_import(shop, "points", path.name, stream)
    db.session.commit()
    return job, time.perf_counter() - started


def confirm(shop: Shop, job: ImportJob) -> float:
    confirm_import(shop, job, apply_with_errors=True, confirm_duplicate=True)
    db.session.commit()
    started = time.perf_counter()
    queue_import(job.id, job.attempts)
    return started


def run(url: str, rows: int, customers: int, label: str, kill: bool) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="bench-imports-"))
    if url.startswith("sqlite"):
        url = f"sqlite:///{workdir / 'bench.sqlite3'}"
    recreate_database(url)
    env = settings(url, workdir)
    app = create_app({**env, "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        redis_conn().flushdb()
        t0 = time.perf_counter()
        shop = seed(app, customers)
        print(f"[{label}] seeded {customers:,} customers in {time.perf_counter() - t0:.1f} s")
        path = workdir / "points.csv"
        valid, points = write_file(path, rows, customers)
        size_mb = path.stat().st_size / 1024 / 1024
        print(f"[{label}] file: {rows:,} rows, {size_mb:.1f} MB, {rows - valid:,} bad rows")

        job, preview_s = preview(shop, path)
        summary = job.summary["preview"]
        assert summary["valid_rows"] == valid, (summary, valid)
        parse_s = raw_parse_seconds(path, shop.id)
        print(
            f"[{label}] preview: {preview_s:.2f} s ({rows / preview_s:,.0f} rows/s); "
            f"{summary['valid_rows']:,} valid, {summary['error_rows']:,} rejected; "
            f"raw parse + validate {parse_s:.2f} s: {preview_s / parse_s:.2f}x of raw"
        )

        worker = Worker(env)
        time.sleep(2)  # the worker is up and idle, as in production
        started = confirm(shop, job)
        done = wait_status(job.id, {"done", "failed"})
        elapsed = time.perf_counter() - started
        peak = worker.peak_rss_mb()
        worker.stop()
        assert done.status == "done", done.summary
        total = db.session.execute(
            select(func.coalesce(func.sum(PointsEntry.delta), 0)).where(
                PointsEntry.import_id == job.id
            )
        ).scalar_one()
        balances = db.session.execute(
            select(func.sum(PointBalance.balance)).where(PointBalance.shop_id == shop.id)
        ).scalar_one()
        assert total == points and balances == points + STARTING * customers, (total, points)
        print(
            f"[{label}] import: confirm → done {elapsed:.2f} s, {rows / elapsed:,.0f} rows/s, "
            f"{done.applied_rows:,} applied, {done.error_rows:,} rejected, "
            f"worker peak RSS {peak:.0f} MB"
        )
        if not url.startswith("sqlite"):
            raw_s = raw_import_seconds(path, shop.id)
            print(
                f"[{label}] raw COPY + ledger insert + balance upsert of the same rows: "
                f"{raw_s:.2f} s, {rows / raw_s:,.0f} rows/s; the import runs at "
                f"{raw_s / elapsed:.2f} of raw"
            )
            size = 50_000
            batched_s = raw_import_seconds(path, shop.id, batch=size)
            print(
                f"[{label}] the same raw statements in {size:,}-row batches: {batched_s:.2f} s, "
                f"{rows / batched_s:,.0f} rows/s; the import runs at "
                f"{batched_s / elapsed:.2f} of that"
            )
        if kill:
            kill_and_resume(shop, path, env, label, rows, points, customers)
    if not url.startswith("sqlite"):
        with app.app_context():
            db.engine.dispose()


def kill_and_resume(shop, path, env, label, rows, points, customers) -> None:
    """Import the file again, SIGKILL the worker mid-file, start another, time the resume."""
    job, _ = preview(shop, path)
    worker = Worker(env)
    time.sleep(2)
    confirm(shop, job)
    while True:
        db.session.expire_all()
        current = db.session.get(ImportJob, job.id)
        db.session.commit()
        if current.processed_rows >= rows // 3:
            break
        time.sleep(0.05)
    worker.kill()
    killed_at = time.perf_counter()
    db.session.expire_all()
    at_kill = db.session.get(ImportJob, job.id).processed_rows
    db.session.commit()
    replacement = Worker(env)
    while True:
        db.session.expire_all()
        current = db.session.get(ImportJob, job.id)
        db.session.commit()
        if current.attempts >= 2:
            break
        time.sleep(0.1)
    resumed = time.perf_counter() - killed_at
    done = wait_status(job.id, {"done", "failed"})
    finished = time.perf_counter() - killed_at
    replacement.stop()
    total = db.session.execute(
        select(func.sum(PointsEntry.delta)).where(PointsEntry.import_id == job.id)
    ).scalar_one()
    balances = db.session.execute(
        select(func.sum(PointBalance.balance)).where(PointBalance.shop_id == shop.id)
    ).scalar_one()
    exact = total == points and balances == 2 * points + STARTING * customers
    print(
        f"[{label}] kill -9 at {at_kill:,} rows: resumed {resumed:.1f} s after the kill, done "
        f"{finished:.1f} s after; status {done.status}; every row applied exactly once: {exact}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--sqlite-rows", type=int, default=100_000)
    parser.add_argument("--sqlite-customers", type=int, default=20_000)
    parser.add_argument("--no-kill", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    args = parser.parse_args()
    run(PG_URL, args.rows, args.customers, "postgresql", kill=not args.no_kill)
    if not args.no_sqlite:
        run("sqlite", args.sqlite_rows, args.sqlite_customers, "sqlite (smaller file)", kill=False)


if __name__ == "__main__":
    main()
