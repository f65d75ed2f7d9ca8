"""Benchmark the shopper's page (/proxy/account) for a customer with 5,000 ledger rows.

Seeds PostgreSQL with a shop of 20,000 customers and 300,000 ledger rows, one of them the
shopper with 5,000 rows, 30 codes bought with points and a referral link; the catalogue has
8 rewards. Then times signed app proxy requests through the Flask app in-process (signature
check, shop and customer lookups, the queries, the Liquid-safe template): the page, and an
older page of history. Target: p95 under 50 ms.

    .venv/bin/python bench/bench_account_page.py             # rebuilds the data, then measures
    .venv/bin/python bench/bench_account_page.py --runs 500

BENCH_DATABASE_URL picks the database (default: postgresql+psycopg://…/bench_account).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from shopify_app import create_app
from shopify_app.platform.extensions import db

DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/bench_account"
)
SHOP = "bench-shop.myshopify.com"
SHOPPER_SHOPIFY_ID = 7_000_000_001
CUSTOMERS, OTHER_ROWS, SHOPPER_ROWS = 20_000, 300_000, 5_000

SEED_SQL = [
    f"""
    INSERT INTO customers (shop_id, shopify_id, email, email_key, email_canonical, first_name,
        last_name, locale, state, is_member, tags, unsubscribed, joined_at,
        referral_code, total_referees, successful_referrals, referrer_revenue_minor,
        referee_revenue_minor, created_at, updated_at)
    SELECT :shop, 7000000000 + g, e, e, e, 'Ada', 'Lovelace', 'en', 'ENABLED', true, '', false,
        now(), 'ADA-' || g, 0, 0, 0, 0, now(), now()
    FROM generate_series(1, {CUSTOMERS}) g,
    LATERAL (SELECT 'ada.' || g || '@example.com' AS e) m
    """,
    """
    INSERT INTO point_balances (customer_id, shop_id, balance, metafield_dirty)
    SELECT id, shop_id, CASE WHEN shopify_id = 7000000001 THEN 25000
                             ELSE (shopify_id - 7000000000) % 900 END, false
    FROM customers WHERE shop_id = :shop
    """,
    # Other customers' ledger rows first, then the shopper's, interleaved by id with more.
    f"""
    INSERT INTO points_entries (shop_id, customer_id, delta, balance_after, description, source,
        created_at)
    SELECT :shop, 2 + g % ({CUSTOMERS} - 1), 10, 10, 'Order #' || g, 'order',
        now() - (g % 700) * interval '1 day'
    FROM generate_series(1, {OTHER_ROWS}) g
    """,
    f"""
    INSERT INTO points_entries (shop_id, customer_id, delta, balance_after, description, source,
        created_at)
    SELECT :shop, 1, 5, 5 * g, 'Order #' || (50000 + g), 'order',
        now() - ({SHOPPER_ROWS} - g) * interval '1 hour'
    FROM generate_series(1, {SHOPPER_ROWS}) g
    """,
    """
    INSERT INTO loyalty_rewards (shop_id, title, points_cost, kind, value, min_order_minor,
        active, created_at, updated_at)
    SELECT :shop, '$' || g * 5 || ' off', g * 500, 'fixed_amount', g * 500, 0, true, now(), now()
    FROM generate_series(1, 8) g
    """,
    """
    INSERT INTO redemptions (shop_id, customer_id, reward_id, request_id, title, points, kind,
        value, min_order_minor, code, status, attempts, created_at, updated_at)
    SELECT :shop, 1, 1, 'req-' || g, '$5 off', 500, 'fixed_amount', 500, 0, 'POINTS-B' || g,
        'issued', 0, now(), now()
    FROM generate_series(1, 30) g
    """,
]


def reset_database(url: str) -> None:
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()


def seed(app) -> None:
    from flask_migrate import upgrade

    from shopify_app.platform.shopify.tokens import TokenGrant
    from shopify_app.platform.shops import install_shop

    with app.app_context():
        upgrade(directory=str(app.config["MIGRATIONS_DIR"]), revision="heads")
        shop = install_shop(SHOP, TokenGrant(access_token="shpat_bench", scope=""))
        shop.name = "Bench Store"
        db.session.commit()
        for sql in SEED_SQL:
            db.session.execute(text(sql), {"shop": shop.id})
            db.session.commit()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))


def signed_query(secret: str, **params: str) -> dict[str, str]:
    from shopify_app.platform.shopify.signatures import proxy_signature

    query = {
        "shop": SHOP,
        "logged_in_customer_id": str(SHOPPER_SHOPIFY_ID),
        "path_prefix": "/apps/referrals",
        "timestamp": str(int(time.time())),
        **params,
    }
    query["signature"] = proxy_signature(query.items(), secret)
    return query


def measure(client, secret: str, runs: int, **params: str) -> list[float]:
    times = []
    for n in range(runs + 5):
        query = signed_query(secret, **params)
        started = time.perf_counter()
        response = client.get("/proxy/account", query_string=query)
        elapsed = (time.perf_counter() - started) * 1000
        assert response.status_code == 200, response.status_code
        assert response.mimetype == "application/liquid"
        if n >= 5:  # the first requests warm caches and connections
            times.append(elapsed)
    return times


def report(label: str, times: list[float], target: float) -> None:
    p95 = statistics.quantiles(times, n=20)[18]
    verdict = "  ok" if p95 < target else f"  OVER {target:.0f} ms"
    print(
        f"{label:36} p50 {statistics.median(times):6.1f} ms   p95 {p95:6.1f} ms"
        f"   max {max(times):6.1f} ms{verdict}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200, help="timed requests per case")
    args = parser.parse_args()
    reset_database(DATABASE_URL)
    app = create_app({"SQLALCHEMY_DATABASE_URI": DATABASE_URL, "DATABASE_URL": DATABASE_URL})
    seed(app)
    with app.app_context():
        rows = db.session.execute(
            text("SELECT count(*) FROM points_entries WHERE customer_id = 1")
        ).scalar()
        middle = db.session.execute(
            text("SELECT id FROM points_entries WHERE customer_id = 1 ORDER BY id OFFSET 2500")
        ).scalar()
    print(
        f"data: {CUSTOMERS:,} customers, {OTHER_ROWS + rows:,} ledger rows, the shopper {rows:,};"
        f" {args.runs} timed requests each, in-process through the app\n"
    )
    client = app.test_client()
    secret = app.config["SHOPIFY_API_SECRET"]
    report("account page", measure(client, secret, args.runs), 50.0)
    report(
        "account page, older history", measure(client, secret, args.runs, before=str(middle)), 50.0
    )


if __name__ == "__main__":
    main()
