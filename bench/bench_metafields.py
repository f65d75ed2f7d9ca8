"""Benchmark: 100,000 balance changes synced to `$app:loyalty.points` against the throttle.

Seeds a scratch PostgreSQL database and the Shopify double (in this process, Shopify's
standard throttle: a 2,000-point bucket restoring 100 points/s, 10 points a `metafieldsSet`)
with `--changes` customers whose balance changed, then runs the shop's sync as the worker
does and prints calls/s and metafields/s beside what the throttle allows at most: the bucket
to start with, then its restore rate, i.e. (calls × 10 − 2,000) / 100 seconds.

    .venv/bin/python bench/bench_metafields.py [--changes 100000]

Target: within 10% of the throttle's maximum.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG_URL = os.environ.get(
    "BENCH_METAFIELDS_DATABASE_URL",
    "postgresql+psycopg://postgres@127.0.0.1:5432/bench_wt_metafields",
)
REDIS_URL = os.environ.get("BENCH_METAFIELDS_REDIS_URL", "redis://127.0.0.1:6379/13")
API_KEY, API_SECRET = "bench-key", "bench-secret-0123456789abcdef"
BUCKET, RESTORE, COST, PER_CALL = 2000, 100, 10, 25


def recreate_database() -> None:
    parsed = make_url(PG_URL)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--changes", type=int, default=100_000)
    args = parser.parse_args()

    from flask_migrate import upgrade

    from shopify_app import create_app
    from shopify_app.loyalty.metafields import run_sync
    from shopify_app.platform.extensions import db
    from shopify_app.platform.shopify.client import AdminClient
    from shopify_app.platform.shopify.tokens import exchange_session_token
    from shopify_app.platform.shops import install_shop
    from shopify_double import ShopifyDouble

    recreate_database()
    double = ShopifyDouble(api_key=API_KEY, api_secret=API_SECRET)
    double.start()
    domain = "bench-metafields.myshopify.com"
    app = create_app(
        {
            "DATABASE_URL": PG_URL,
            "SQLALCHEMY_DATABASE_URI": PG_URL,
            "REDIS_URL": REDIS_URL,
            "RQ_ASYNC": False,
            "SECRET_KEY": "bench-secret",
            "SHOPIFY_API_KEY": API_KEY,
            "SHOPIFY_API_SECRET": API_SECRET,
            "SHOPIFY_API_BASE": double.api_base,
        }
    )
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"), revision="heads")
        double.add_shop(domain)
        shop = install_shop(domain, exchange_session_token(domain, double.session_token(domain)))
        db.session.commit()
        first = 7_600_000_000_000
        for n in range(args.changes):
            double.add_customer(domain, id=first + n)
        db.session.execute(
            text(
                "INSERT INTO customers (shop_id, shopify_id, first_name, last_name, state, "
                "is_member, tags, unsubscribed, total_referees, "
                "successful_referrals, referrer_revenue_minor, referee_revenue_minor, "
                "created_at, updated_at) SELECT :shop, :first + n, '', '', 'ENABLED', true, '', "
                "false, 0, 0, 0, 0, now(), now() FROM generate_series(0, :last) n"
            ),
            {"shop": shop.id, "first": first, "last": args.changes - 1},
        )
        db.session.execute(
            text(
                "INSERT INTO point_balances (customer_id, shop_id, balance, last_activity_at, "
                "metafield_dirty) SELECT id, shop_id, (shopify_id - :first) % 1000, now(), true "
                "FROM customers"
            ),
            {"first": first},
        )
        db.session.commit()
        db.session.execute(text("ANALYZE customers"))
        db.session.execute(text("ANALYZE point_balances"))
        db.session.commit()
        print(f"seeded {args.changes:,} changed balances; syncing against the double's throttle")
        started = time.perf_counter()
        result = run_sync(shop, AdminClient(shop))
        elapsed = time.perf_counter() - started
    calls = [c for c in double.graphql_calls if c["root_fields"] == ["metafieldsSet"]]
    throttled = sum(1 for c in calls if c["throttled"])
    ideal = max(len(calls) - throttled, 1) * COST
    ideal_seconds = max(ideal - BUCKET, 0) / RESTORE
    double.stop()
    print(
        f"{result.sent:,} metafields in {result.calls:,} calls of ≤{PER_CALL} "
        f"({throttled} answered THROTTLED): {elapsed:.1f} s, {result.calls / elapsed:.2f} calls/s, "
        f"{result.sent / elapsed:,.0f} metafields/s"
    )
    print(
        f"throttle's maximum for these calls: {ideal_seconds:.1f} s "
        f"({BUCKET:,}-point bucket, {RESTORE}/s restore, {COST} a call); "
        f"achieved {ideal_seconds / elapsed:.1%} of it"
    )


if __name__ == "__main__":
    main()
