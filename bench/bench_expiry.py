"""Benchmark: the daily expiry of 1,000,000 customers' points on PostgreSQL.

Seeds a scratch database (COPY, not timed): one shop with expiry on (12 months), `--customers`
customers with a balance and a point state whose last activity is 13 months ago, so every one
expires. Then runs the shop's expiry in a child process, as a worker would, and prints the
time, rows/s, and its memory (RSS after the first batches and the peak, from /proc), then
runs it again to show a rerun expires nothing.

    .venv/bin/python bench/bench_expiry.py [--customers 1000000]

Target (2-core machine): ≤ 60 s, memory flat.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG_URL = os.environ.get(
    "BENCH_EXPIRY_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/bench_wt_expiry"
)
REDIS_URL = os.environ.get("BENCH_EXPIRY_REDIS_URL", "redis://127.0.0.1:6379/12")
FIRST_ID = 7_500_000_000_000


def settings() -> dict[str, str]:
    return {
        "DATABASE_URL": PG_URL,
        "REDIS_URL": REDIS_URL,
        "RQ_QUEUE": "bench-expiry",
        "SECRET_KEY": "bench-secret",
    }


def recreate_database() -> None:
    parsed = make_url(PG_URL)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()


def seed(customers: int) -> int:
    """Schema through the migrations, one shop, its customers and their point state."""
    from flask_migrate import upgrade

    from shopify_app import create_app
    from shopify_app.platform.extensions import db
    from shopify_app.platform.models import ProgramSettings, Shop

    app = create_app(settings())
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"), revision="heads")
        shop = Shop(domain="bench-shop.myshopify.com", name="Bench")
        db.session.add(shop)
        db.session.flush()
        db.session.add(ProgramSettings(shop_id=shop.id, expiry=True, expiry_months=12))
        db.session.commit()
        shop_id = shop.id
        cursor = db.session.connection().connection.driver_connection.cursor()
        columns = (
            "shop_id, shopify_id, email, email_key, email_canonical, first_name, last_name, "
            "state, is_member, tags, unsubscribed, total_referees, "
            "successful_referrals, referrer_revenue_minor, referee_revenue_minor, created_at, "
            "updated_at"
        )
        with cursor.copy(f"COPY customers ({columns}) FROM STDIN") as copy:
            for n in range(customers):
                email = f"customer{n}@example.com"
                copy.write_row(
                    (shop_id, FIRST_ID + n, email, email, email, "Customer", str(n), "ENABLED",
                     True, "", False, 0, 0, 0, 0, "2025-01-01", "2025-01-01")
                )  # fmt: skip
        # Last activities spread over a day, 13 months ago: each expires.
        db.session.execute(
            text(
                "INSERT INTO point_balances (customer_id, shop_id, balance, last_activity_at, "
                "metafield_dirty) SELECT id, shop_id, 50 + (shopify_id - :first) % 500, "
                "now() - interval '13 months' - (id % 86400) * interval '1 second', false "
                "FROM customers WHERE shop_id = :shop"
            ),
            {"shop": shop_id, "first": FIRST_ID},
        )
        db.session.commit()
        db.session.execute(text("ANALYZE customers"))
        db.session.execute(text("ANALYZE point_balances"))
        db.session.commit()
    return shop_id


def rss_mb(pid: int, field: str) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field):
                return int(line.split()[1]) / 1024
    return float("nan")


def expire_in_this_process(shop_id: int) -> None:
    """The child: one shop's expiry as the worker runs it; prints its figures."""
    from shopify_app import create_app
    from shopify_app.loyalty.expiry import BATCH, run_expiry
    from shopify_app.platform.extensions import db
    from shopify_app.platform.models import Shop
    from shopify_app.program.config import get_settings

    app = create_app({**settings(), "RQ_ASYNC": False})
    samples: list[float] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.25):
            samples.append(rss_mb(os.getpid(), "VmRSS:"))

    with app.app_context():
        shop = db.session.get(Shop, shop_id)
        settings_row = get_settings(shop)
        db.session.commit()
        threading.Thread(target=sample, daemon=True).start()
        started = time.perf_counter()
        run = run_expiry(shop, settings_row)
        elapsed = time.perf_counter() - started
        stop.set()
        early = samples[min(len(samples) - 1, 4)] if samples else float("nan")
        print(
            f"expired {run.expired:,} balances in {run.batches} batches of {BATCH:,}: "
            f"{elapsed:.1f} s ({run.expired / elapsed:,.0f} customers/s); RSS after ~1 s "
            f"{early:.0f} MB, at the end {rss_mb(os.getpid(), 'VmRSS:'):.0f} MB, peak "
            f"{rss_mb(os.getpid(), 'VmHWM:'):.0f} MB"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--expire-shop", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.expire_shop:
        expire_in_this_process(args.expire_shop)
        return
    recreate_database()
    started = time.perf_counter()
    shop_id = seed(args.customers)
    print(f"seeded {args.customers:,} customers in {time.perf_counter() - started:.0f} s")
    for label in ("run", "rerun"):
        print(f"{label}: ", end="", flush=True)
        subprocess.run(
            [sys.executable, __file__, "--expire-shop", str(shop_id)], check=True, cwd=ROOT
        )
    engine = create_engine(PG_URL)
    with engine.connect() as conn:
        entries, left = conn.execute(
            text(
                "SELECT (SELECT count(*) FROM points_entries WHERE source = 'expiry'), "
                "(SELECT count(*) FROM point_balances WHERE balance > 0)"
            )
        ).one()
    engine.dispose()
    print(f"ledger: {entries:,} expiry rows; customers still holding points: {left:,}")


if __name__ == "__main__":
    main()
