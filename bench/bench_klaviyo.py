"""Benchmark: 100,000 enrolments to Klaviyo within the double's rate limits, none sent twice.

Seeds a scratch PostgreSQL database with `--enrolments` joined customers, connects the shop
to the Klaviyo double (`python -m klaviyo_double` in a process of its own, as Klaviyo is
remote, with Klaviyo's limits: bulk profile import and event
bulk-create jobs are 10/s burst, 150/min steady each; 10,000 profiles and 1,000 events a
job), then runs the shop's sync as the worker does. Prints enrolments/s, the jobs, the 429s,
and the time against the minimum the rate limits allow for those jobs; then asserts from
the double's counts that every profile and event arrived once. A second phase changes
`--changes` balances and times the pass that sends them.

    .venv/bin/python bench/bench_klaviyo.py [--enrolments 100000] [--changes 10000]
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG_URL = os.environ.get(
    "BENCH_KLAVIYO_DATABASE_URL",
    "postgresql+psycopg://postgres@127.0.0.1:5432/bench_wt_klaviyo",
)
REDIS_URL = os.environ.get("BENCH_KLAVIYO_REDIS_URL", "redis://127.0.0.1:6379/14")
PORT = int(os.environ.get("BENCH_KLAVIYO_PORT", "8797"))
BURST, STEADY = 10, 150  # the M tier of both bulk endpoints


def recreate_database() -> None:
    parsed = make_url(PG_URL)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()


def minimum_seconds(calls: int) -> float:
    """The least time fixed 1-second and 1-minute windows allow `calls` calls to take: the
    first second's calls go at once, each further BURST waits for the next second, each
    further STEADY for the next minute."""
    minutes = math.ceil(calls / STEADY) - 1
    in_last_minute = calls - minutes * STEADY
    return minutes * 60 + math.ceil(in_last_minute / BURST) - 1


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--enrolments", type=int, default=100_000)
    parser.add_argument("--changes", type=int, default=10_000)
    args = parser.parse_args()

    import requests

    from klaviyo_double import DEMO_KEY as KEY

    recreate_database()
    double = subprocess.Popen(
        [sys.executable, "-m", "klaviyo_double", "--port", str(PORT)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{PORT}"
    for _ in range(100):
        try:
            requests.get(base + "/health", timeout=1)
            break
        except requests.ConnectionError:
            time.sleep(0.1)

    def received() -> dict:
        return requests.get(base + "/_double/received", params={"key": KEY}, timeout=10).json()

    try:
        run(args, base, received)
    finally:
        double.terminate()
        double.wait(timeout=10)


def run(args: argparse.Namespace, base: str, received) -> None:
    from flask_migrate import upgrade

    from klaviyo_double import DEMO_KEY as KEY
    from shopify_app import create_app
    from shopify_app.integrations.klaviyo import connection
    from shopify_app.integrations.klaviyo.client import KlaviyoClient
    from shopify_app.integrations.klaviyo.sync import EVENTS_PER_JOB, PER_PASS, run_sync
    from shopify_app.platform.extensions import db, redis_conn
    from shopify_app.platform.models import ProgramSettings, Shop

    n = args.enrolments
    app = create_app(
        {
            "DATABASE_URL": PG_URL,
            "SQLALCHEMY_DATABASE_URI": PG_URL,
            "REDIS_URL": REDIS_URL,
            "RQ_ASYNC": False,
            "SECRET_KEY": "bench-secret",
            "KLAVIYO_API_BASE": base,
        }
    )
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"), revision="heads")
        redis_conn().flushdb()
        shop = Shop(domain="bench-klaviyo.myshopify.com", name="Bench", access_token_encrypted="x")
        db.session.add(shop)
        db.session.flush()
        db.session.add(ProgramSettings(shop_id=shop.id))
        db.session.execute(
            text(
                "INSERT INTO customers (shop_id, email, email_key, first_name, last_name, state, "
                "is_member, tags, unsubscribed, total_referees, successful_referrals, "
                "referrer_revenue_minor, referee_revenue_minor, joined_at, referral_code, "
                "created_at, updated_at) SELECT :shop, 'c' || n || '@example.com', "
                "'c' || n || '@example.com', 'First' || n, 'Last', 'ENABLED', true, '', false, "
                "0, 0, 0, 0, now() + n * interval '1 millisecond', 'BENCH-' || n, now(), now() "
                "FROM generate_series(1, :n) n"
            ),
            {"shop": shop.id, "n": n},
        )
        db.session.execute(
            text(
                "INSERT INTO point_balances (customer_id, shop_id, balance, metafield_dirty) "
                "SELECT id, shop_id, id % 500, false FROM customers"
            )
        )
        db.session.execute(text("ANALYZE customers"))
        db.session.execute(text("ANALYZE point_balances"))
        connection.connect(shop, KEY)
        db.session.commit()
        print(f"seeded {n:,} enrolled customers; syncing to the Klaviyo double")
        client = KlaviyoClient(KEY)
        started = time.perf_counter()
        result = run_sync(shop, client)
        elapsed = time.perf_counter() - started

        counts = received()
        profile_jobs, event_jobs = math.ceil(n / PER_PASS), math.ceil(n / EVENTS_PER_JOB)
        floor = max(minimum_seconds(profile_jobs), minimum_seconds(event_jobs))
        print(
            f"{n:,} enrolments in {elapsed:.1f} s: {n / elapsed:,.0f} enrolments/s; "
            f"{result.jobs} jobs ({counts['profile_import_job']} profile imports of "
            f"≤{PER_PASS:,}, {counts['event_bulk_job']} event jobs of ≤{EVENTS_PER_JOB:,}); "
            f"{client.throttled} answered 429, {client.waited:.1f} s waited for Retry-After"
        )
        print(
            f"rate limits' minimum for these jobs: {floor:.0f} s ({BURST}/s burst, "
            f"{STEADY}/min steady per endpoint); took {elapsed / max(floor, 1):.2f}x of it"
        )
        assert counts["profile"] == n, counts
        assert counts["event"] == n and counts["duplicate_events"] == 0, counts
        assert counts["profiles"] == n and counts["events"] == n, counts
        assert counts["profile_import_job"] == profile_jobs
        assert counts["event_bulk_job"] == event_jobs
        print("double's counts: every profile and event arrived once, none twice")

        changes = min(args.changes, n)
        db.session.execute(
            text("UPDATE point_balances SET balance = balance + 7 WHERE customer_id <= :c"),
            {"c": changes},
        )
        db.session.commit()
        started = time.perf_counter()
        again = run_sync(shop, client)
        elapsed = time.perf_counter() - started
        after = received()
        assert again.profiles == changes and again.events == 0, again
        assert after["profile"] == n + changes and after["event"] == n, after
        print(
            f"{changes:,} balance changes found by comparison and sent in {elapsed:.2f} s "
            f"({again.jobs} profile import job{'s' if again.jobs != 1 else ''}, no event)"
        )


if __name__ == "__main__":
    main()
