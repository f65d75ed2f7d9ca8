"""Benchmark the merchant's pages at scale, through the real app, and print the figures.

Seeds PostgreSQL with 1,000,000 customers, 300,000 referrals and 500,000 orders (rewards and
the maintained referral stats to match), then times requests through the Flask app (session
token, guard, query, template): the customers table's first and last page, each filter, a
search, sorts, a customer detail, the 90-day metrics page and its CSV, home; finally a
1,000,000-row CSV export, with its memory. The table's query layer (`customer_page`,
`count_matching`) is timed against the same SQL written by hand and run on psycopg,
interleaved in the same run.

    .venv/bin/python bench/bench_pages.py            # seeds once, then measures
    .venv/bin/python bench/bench_pages.py --reseed   # rebuild the data first

BENCH_DATABASE_URL picks the database (default: postgresql+psycopg://…/bench_pages).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from shopify_app import create_app  # noqa: E402
from shopify_app.platform.extensions import db

DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/bench_pages"
)
SHOP = "bench-shop.myshopify.com"
CUSTOMERS, REFERRALS, OTHER_ORDERS = 1_000_000, 300_000, 350_000  # + 150,000 referral orders
RUNS = 30

FIRST = "Ada Grace Alan Lea Kofi Aiko Ingrid Omar Yara Felix Elena Marco Isla Finn Maya Leo Nora \
Hugo Priya Arjun Zoe Noah Mia Liam Ethan Lucas Sofia Mateo Hiro Amara".split()
LAST = "Smith Johnson Martin Bernard Garcia Muller Rossi Tanaka Okafor Nguyen Kowalski Silva \
Dubois Larsen Patel Kim Cohen Novak Fischer Moreau Santos Ivanova Haddad Lindqvist Obrien".split()

SEED_SQL = [
    # Customers: 60% Members, 30% joined (with referral codes), two years of sign-ups.
    f"""
    INSERT INTO customers (shop_id, shopify_id, email, email_key, email_canonical, first_name,
        last_name, locale, state, is_member, tags, unsubscribed, joined_at,
        referral_code, total_referees, successful_referrals, referrer_revenue_minor,
        referee_revenue_minor, created_at, updated_at)
    SELECT :shop, 7000000000 + g, e, e, e, f, l, 'en',
        CASE WHEN g % 5 < 3 THEN 'ENABLED' ELSE 'DISABLED' END, g % 5 < 3, '', false,
        CASE WHEN g % 10 < 3 THEN timestamp '2024-06-01' + g * interval '30 seconds' END,
        CASE WHEN g % 10 < 3 THEN 'R' || g END, 0, 0, 0, 0,
        timestamp '2024-01-01' + g * interval '60 seconds', now()
    FROM generate_series(1, {CUSTOMERS}) g,
    LATERAL (SELECT (ARRAY{FIRST!r})[1 + g % {len(FIRST)}] AS f,
                    (ARRAY{LAST!r})[1 + (g / {len(FIRST)}) % {len(LAST)}] AS l) n,
    LATERAL (SELECT lower(f || '.' || l || '.' || g || '@example.com') AS e) m
    """,
    """
    INSERT INTO point_balances (customer_id, shop_id, balance, metafield_dirty)
    SELECT id, shop_id, ((shopify_id - 7000000000) * 7919) % 1000, false
    FROM customers WHERE shop_id = :shop
    """,
    # Referrals: 50% completed, 35% pending, 15% blocked, over two years; a fifth of them
    # by 50 heavy referrers. Ids follow g (fresh tables), so customers are addressed by g.
    f"""
    INSERT INTO referrals (shop_id, referrer_id, referee_id, status, block_reason,
        order_total_minor, completed_at, created_at, updated_at)
    SELECT :shop, r, 1 + (g::bigint * 104729) % {CUSTOMERS},
        CASE WHEN g % 20 < 10 THEN 'completed' WHEN g % 20 < 17 THEN 'pending' ELSE 'blocked' END,
        CASE WHEN g % 20 >= 17 THEN 'The referee had already ordered before' END,
        CASE WHEN g % 20 < 10 THEN 2000 + (g * 31) % 20000 END,
        CASE WHEN g % 20 < 10 THEN least(c + (g % 72) * interval '1 hour', now()) END,
        c, now()
    FROM generate_series(1, {REFERRALS}) g,
    LATERAL (SELECT CASE WHEN g % 5 = 0 THEN (g % 50) * 10 + 1
                         ELSE ((g::bigint * 7919) % 100000) * 10 + 1 END AS r,
                    now() - ((g * 37) % 730) * interval '1 day' - (g % 1440) * interval '1 minute'
                    AS c) x
    """,
    # The referees' orders (one per completed referral), then everyone else's.
    """
    INSERT INTO orders (shop_id, shopify_id, customer_id, name, total_minor, refunded_minor,
        currency, discount_codes, financial_status, paid_at, created_at, updated_at)
    SELECT :shop, id, referee_id, '#' || id, order_total_minor, 0, 'USD', '[]', 'paid',
        completed_at, completed_at, now()
    FROM referrals WHERE status = 'completed'
    """,
    """
    UPDATE referrals r SET order_id = o.id FROM orders o
    WHERE o.shop_id = r.shop_id AND o.shopify_id = r.id AND r.status = 'completed'
    """,
    f"""
    INSERT INTO orders (shop_id, shopify_id, customer_id, name, total_minor, refunded_minor,
        currency, discount_codes, financial_status, paid_at, created_at, updated_at)
    SELECT :shop, 1000000 + g, 1 + (g::bigint * 7907) % {CUSTOMERS}, '#B' || g,
        1500 + (g * 17) % 30000, 0, 'USD', '[]', 'paid', p, p, now()
    FROM generate_series(1, {OTHER_ORDERS}) g,
    LATERAL (SELECT now() - ((g * 13) % 730) * interval '1 day' - (g % 1440) * interval '1 minute'
             AS p) x
    """,
    # A reward per completed referral; half of them used on one of the referrer's orders.
    """
    INSERT INTO rewards (shop_id, customer_id, referral_id, code, value_type, value, status,
        used_order_id, used_at, revenue_minor, shopify_status, shopify_attempts,
        created_at, updated_at)
    SELECT :shop, r.referrer_id, r.id, 'THANKS' || r.id, 'fixed_amount', 1000,
        CASE WHEN o.id IS NULL THEN 'unused' ELSE 'used' END, o.id, o.paid_at,
        coalesce(o.total_minor, 0), 'synced', 0, r.completed_at, now()
    FROM referrals r
    LEFT JOIN orders o ON r.id % 2 = 0 AND o.shop_id = r.shop_id
        AND o.shopify_id = 1000000 + 1 + r.id % 350000
    WHERE r.status = 'completed'
    """,
    # The maintained stats, as the referral engine keeps them.
    """
    UPDATE customers c SET total_referees = x.nb, successful_referrals = x.nc,
        referee_revenue_minor = x.rev
    FROM (SELECT referrer_id, count(*) FILTER (WHERE status <> 'blocked') nb,
                 count(*) FILTER (WHERE status = 'completed') nc,
                 coalesce(sum(order_total_minor) FILTER (WHERE status = 'completed'), 0) rev
          FROM referrals GROUP BY referrer_id) x
    WHERE c.id = x.referrer_id
    """,
    """
    UPDATE customers c SET referrer_revenue_minor = x.rev
    FROM (SELECT customer_id, sum(revenue_minor) rev FROM rewards GROUP BY customer_id) x
    WHERE c.id = x.customer_id
    """,
    # A points history for the customer whose detail page is measured.
    """
    INSERT INTO points_entries (shop_id, customer_id, delta, balance_after, description, source,
        created_at)
    SELECT :shop, 1, 10, 10 * g, 'Import row ' || g, 'import', now() - g * interval '1 hour'
    FROM generate_series(1, 500) g
    """,
]


#: The table's pages as keyset SQL written by hand: (label, table args, key, rest of the SQL).
RAW_PAGE = """SELECT c.id, c.shopify_id, c.first_name, c.last_name, c.email, c.is_member,
    c.joined_at, c.referral_code, c.total_referees, c.successful_referrals,
    c.referrer_revenue_minor, c.referee_revenue_minor, coalesce(b.balance, 0), c.created_at, {key}
    FROM customers c LEFT JOIN point_balances b ON b.customer_id = c.id WHERE c.shop_id = %s
    AND c.deleted_at IS NULL AND c.redacted_at IS NULL {rest} LIMIT 51"""
NAME_KEY = "lower(trim(c.first_name || ' ' || c.last_name))"
MEMBERS_JOINED = {"status": "members", "program": "joined", "last": "1"}
RAW_PAGES = [
    ("first page", {}, "c.created_at", "ORDER BY c.created_at DESC, c.id DESC"),
    ("last page", {"last": "1"}, "c.created_at", "ORDER BY c.created_at, c.id"),
    ("Members + Joined, last page", MEMBERS_JOINED, "c.created_at",
     "AND c.is_member AND c.joined_at IS NOT NULL ORDER BY c.created_at, c.id"),
    ("sort referrer revenue, last", {"sort": "referrer_revenue", "last": "1"},
     "c.referrer_revenue_minor", "ORDER BY c.referrer_revenue_minor, c.id"),
    ("sort name, last", {"sort": "name", "last": "1"}, NAME_KEY,
     f"ORDER BY {NAME_KEY} DESC, c.id DESC"),
]  # fmt: skip
#: Infix searches: a fragment in every email, rare ones, fragments of names; then a prefix.
SEARCHES = [
    ("'example' (every email)", {"q": "example"}),
    ("'example', last page", {"q": "example", "last": "1"}),
    ("'123456@' (one email)", {"q": "123456@"}),
    ("'ada.okafor.1' (147)", {"q": "ada.okafor.1"}),
    ("'owals' (in a name, 4%)", {"q": "owals"}),
    ("'iya' (in a name, 3%)", {"q": "iya"}),
    ("'smith'", {"q": "smith"}),
    ("'sm' (2 letters: a prefix)", {"q": "sm"}),
]


def interleaved(first, second, runs: int) -> tuple[list[float], list[float]]:
    """Time two callables alternately (after a warm-up), so both see the same machine."""
    times: tuple[list[float], list[float]] = ([], [])
    for n in range(runs + 5):
        for fn, out in ((first, times[0]), (second, times[1])):
            started = time.perf_counter()
            fn()
            if n >= 5:
                out.append((time.perf_counter() - started) * 1000)
    return times


def p95(times: list[float]) -> float:
    return statistics.quantiles(times, n=20)[18]


def compare(label: str, ours: list[float], raw: list[float], limit: float) -> None:
    ratio, median = p95(ours) / p95(raw), statistics.median(ours) / statistics.median(raw)
    verdict = "ok" if ratio <= limit else f"OVER {limit:g}x"
    print(
        f"{label:30} ours p50 {statistics.median(ours):6.2f} p95 {p95(ours):6.2f} ms | raw p50"
        f" {statistics.median(raw):6.2f} p95 {p95(raw):6.2f} ms | p95 {ratio:3.1f}x {verdict}"
        f" (p50 {median:3.1f}x)"
    )


def query_layer_against_raw(app) -> None:
    """customer_page and count_matching against hand-written SQL on the driver connection."""
    from shopify_app.customers import queries as table
    from shopify_app.platform.models import Shop
    from shopify_app.platform.tenancy import enter_shop, leave_shop

    print("\nthe table's query layer against raw SQL on psycopg (p95 ratio; target 3x, 1.2x):")
    with app.app_context():
        shop = db.session.scalars(db.select(Shop).filter_by(domain=SHOP)).one()
        enter_shop(shop.id)  # as a request does: the tenant net is part of the cost
        cursor = db.session.connection().connection.driver_connection.cursor()
        for label, args, key, rest in RAW_PAGES:
            query, sql = table.TableQuery.from_args(args), RAW_PAGE.format(key=key, rest=rest)
            ours, raw = interleaved(
                lambda q=query: table.customer_page(shop, q),
                lambda s=sql: cursor.execute(s, (shop.id,)).fetchall(),
                300,
            )
            compare(f"page: {label}", ours, raw, 3.0)
        ours, raw = interleaved(
            lambda: table.count_matching(shop, table.TableQuery()),
            lambda: cursor.execute("SELECT count(*) FROM customers").fetchall(),
            20,
        )
        compare("count: all customers", ours, raw, 1.2)
        leave_shop()
        db.session.rollback()


def reset_database(url: str) -> None:
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()


def seed(app) -> None:
    from demo.shop import ensure_demo_shop  # noqa: F401  (loads models)
    from shopify_app.platform.shopify.tokens import TokenGrant
    from shopify_app.platform.shops import install_shop

    with app.app_context():
        upgrade(directory=str(app.config["MIGRATIONS_DIR"]), revision="heads")
        shop = install_shop(SHOP, TokenGrant(access_token="shpat_bench", scope=""))
        shop.name = "Bench Store"
        db.session.commit()
        started = time.perf_counter()
        for sql in SEED_SQL:
            t = time.perf_counter()
            db.session.execute(text(sql), {"shop": shop.id})
            db.session.commit()
            print(f"  seeded in {time.perf_counter() - t:6.1f} s: {' '.join(sql.split())[:70]}…")
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
        print(f"seeded in {time.perf_counter() - started:.0f} s")


def seeded(app) -> bool:
    with app.app_context():
        try:
            return bool(db.session.execute(text("SELECT count(*) FROM shops")).scalar())
        except Exception:
            return False


def measure(client, token_for, path: str, query: dict[str, str]) -> list[float]:
    times = []
    for n in range(RUNS + 3):
        started = time.perf_counter()
        response = client.get(path, query_string={**query, "shop": SHOP, "id_token": token_for()})
        elapsed = (time.perf_counter() - started) * 1000
        assert response.status_code == 200, (path, query, response.status_code)
        if n >= 3:  # the first requests warm caches and connections
            times.append(elapsed)
    return times


def report(label: str, times: list[float], target: float | None) -> None:
    p95 = statistics.quantiles(times, n=20)[18]
    verdict = "" if target is None else ("  ok" if p95 < target else f"  OVER {target:.0f} ms")
    print(
        f"{label:42} p50 {statistics.median(times):7.1f} ms   p95 {p95:7.1f} ms"
        f"   max {max(times):7.1f} ms{verdict}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reseed", action="store_true", help="drop and rebuild the data")
    args = parser.parse_args()
    config = {
        "SQLALCHEMY_DATABASE_URI": DATABASE_URL,
        "DATABASE_URL": DATABASE_URL,
        "EXPORT_STREAM_MAX_ROWS": 2_000_000,
    }
    if args.reseed:
        reset_database(DATABASE_URL)
    else:
        try:
            create_engine(DATABASE_URL).connect().close()
        except Exception:
            reset_database(DATABASE_URL)
    app = create_app(config)
    if not seeded(app):
        print(f"seeding {CUSTOMERS:,} customers, {REFERRALS:,} referrals, 500,000 orders …")
        seed(app)
    else:
        with app.app_context():  # data seeded before a newer migration gets its indexes
            upgrade(directory=str(app.config["MIGRATIONS_DIR"]), revision="heads")

    from shopify_app.platform.auth.demo_tokens import mint_demo_token

    with app.app_context():
        token = mint_demo_token(SHOP)
        last_id = db.session.execute(text("SELECT max(id) FROM customers")).scalar()
        counts = db.session.execute(
            text(
                "SELECT (SELECT count(*) FROM customers), (SELECT count(*) FROM referrals),"
                " (SELECT count(*) FROM orders), (SELECT count(*) FROM rewards)"
            )
        ).one()
    print(
        f"data: {counts[0]:,} customers, {counts[1]:,} referrals, {counts[2]:,} orders, "
        f"{counts[3]:,} rewards; {RUNS} timed requests each, in-process through the app\n"
    )

    client = app.test_client()
    table_target, search_target, metrics_target = 50.0, 100.0, 250.0
    cases = [
        ("customers: first page", "/customers", {}, table_target),
        ("customers: last page", "/customers", {"last": "1"}, table_target),
        ("customers: filter Members", "/customers", {"status": "members"}, table_target),
        ("customers: filter Guests", "/customers", {"status": "guests"}, table_target),
        ("customers: filter Joined", "/customers", {"program": "joined"}, table_target),
        ("customers: filter Not joined", "/customers", {"program": "not_joined"}, table_target),
        ("customers: Members + Joined, last page", "/customers", MEMBERS_JOINED, table_target),
        *[
            (f"customers: search {what}", "/customers", args, search_target)
            for what, args in SEARCHES
        ],
        (
            "customers: sort referrer revenue",
            "/customers",
            {"sort": "referrer_revenue"},
            table_target,
        ),
        (
            "customers: sort referrer revenue, last",
            "/customers",
            {"sort": "referrer_revenue", "last": "1"},
            table_target,
        ),
        ("customers: sort successful referrals", "/customers", {"sort": "referrals"}, table_target),
        ("customers: sort name", "/customers", {"sort": "name"}, table_target),
        ("customers: sort points (no index, by design)", "/customers", {"sort": "points"}, None),
        ("customers: matching count (lazy fetch)", "/customers/count.json", {}, None),
        ("customers: count, search 'owals'", "/customers/count.json", {"q": "owals"}, None),
        ("customers: count, search 'example'", "/customers/count.json", {"q": "example"}, None),
        ("customer detail (heavy referrer)", "/customers/1", {}, table_target),
        (f"customer detail (customer {last_id})", f"/customers/{last_id}", {}, table_target),
        ("metrics: last 90 days", "/metrics", {"range": "90"}, metrics_target),
        ("metrics: last 365 days (monthly)", "/metrics", {"range": "365"}, None),
        ("metrics: 90 days as CSV", "/metrics.csv", {"range": "90"}, metrics_target),
        ("home: setup guide and this month", "/", {}, metrics_target),
    ]
    with app.app_context():
        for label, path, query, target in cases:
            report(label, measure(client, lambda: token, path, query), target)
    query_layer_against_raw(app)
    with app.app_context():
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        started = time.perf_counter()
        response = client.get(
            "/customers/export.csv",
            query_string={"shop": SHOP, "id_token": token},
            buffered=False,
        )
        size = lines = 0
        rss_mid = rss_before
        for n, chunk in enumerate(response.response):
            size += len(chunk)
            lines += chunk.count(b"\n")
            if n == 100:
                rss_mid = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        response.close()
        elapsed = time.perf_counter() - started
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"\nexport: {lines - 1:,} rows, {size / 1e6:.0f} MB CSV streamed in {elapsed:.1f} s "
        f"({(lines - 1) / elapsed:,.0f} rows/s; target 10 s); peak RSS {rss_before:.0f} MB "
        f"before, {rss_mid:.0f} MB after 100k rows, {rss_after:.0f} MB after all"
    )


if __name__ == "__main__":
    main()
