"""Benchmark dynamic segments at scale, through the real app, and print p50/p95.

Seeds PostgreSQL with 1,000,000 customers (imported attributes `tier`, `orders`, `since`,
`vip` in `customers.attributes`) and 5,000,000 events over the last 365 days (30% `purchase`,
the rest four other names; customers drawn at random), all with `generate_series` in SQL, the
events' indexes built after the rows. Then times, in-process through the Flask app (session
token, guard, form, query, template):

- the editor's live count (`/segments/count.json`) for one event condition and one attribute
  condition: "did purchase at least 2 times in the last 30 days" and "orders is at least 10"
  (target p95 < 300 ms);
- that dynamic segment's member page (`/segments/<id>`), first and last page (target p95 < 100 ms);
- the Segments page, which counts every segment.

    .venv/bin/python bench/bench_segments.py            # seeds once, then measures
    .venv/bin/python bench/bench_segments.py --reseed   # rebuild the data first

BENCH_DATABASE_URL picks the database (default: postgresql+psycopg://…/bench_segments).
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
    "BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/bench_segments"
)
SHOP = "bench-shop.myshopify.com"
CUSTOMERS, EVENTS = 1_000_000, 5_000_000
RUNS = 40
RULES = {
    "match": "all",
    "rows-0-what": "event",
    "rows-0-op": "did",
    "rows-0-event": "purchase",
    "rows-0-times": "2",
    "rows-0-days": "30",
    "rows-1-what": "attribute:orders",
    "rows-1-op": "gte",
    "rows-1-value": "10",
}
#: the events' secondary indexes, dropped while the rows go in and built after (much faster).
EVENT_INDEXES = [
    ("uq_customer_events_shop_id_event_key", "UNIQUE (shop_id, event_key)"),
    ("ix_customer_events_shop_id_name_occurred_at", None),
    ("ix_customer_events_customer_id_occurred_at", None),
    ("ix_customer_events_import_id", None),
]

SEED_SQL = [
    f"""
    INSERT INTO customers (shop_id, shopify_id, email, email_key, email_canonical, first_name,
        last_name, locale, state, is_member, tags, unsubscribed, joined_at,
        referral_code, total_referees, successful_referrals, referrer_revenue_minor,
        referee_revenue_minor, attributes, created_at, updated_at)
    SELECT :shop, 7000000000 + g, e, e, e, 'First' || g, 'Last' || g, 'en',
        CASE WHEN g % 5 < 3 THEN 'ENABLED' ELSE 'DISABLED' END, g % 5 < 3, '', false,
        CASE WHEN g % 10 < 3 THEN timestamp '2024-06-01' + g * interval '30 seconds' END,
        CASE WHEN g % 10 < 3 THEN 'R' || g END, 0, g % 7, (g % 13) * 1000, 0,
        json_build_object(
            'tier', (ARRAY['gold', 'silver', 'bronze'])[1 + g % 3],
            'orders', (g::bigint * 104729) % 50,
            'since', to_char(date '2020-01-01' + (g % 2000), 'YYYY-MM-DD'),
            'vip', g % 17 = 0),
        timestamp '2024-01-01' + g * interval '60 seconds', now()
    FROM generate_series(1, {CUSTOMERS}) g,
    LATERAL (SELECT 'customer' || g || '@example.com' AS e) m
    """,
    """
    INSERT INTO point_balances (customer_id, shop_id, balance, metafield_dirty)
    SELECT id, shop_id, ((shopify_id - 7000000000) * 7919) % 1000, false
    FROM customers WHERE shop_id = :shop
    """,
    """
    INSERT INTO attribute_definitions (shop_id, name, kind, created_at, updated_at)
    VALUES (:shop, 'tier', 'text', now(), now()), (:shop, 'orders', 'number', now(), now()),
           (:shop, 'since', 'date', now(), now()), (:shop, 'vip', 'boolean', now(), now())
    """,
    f"""
    INSERT INTO customer_events (shop_id, customer_id, name, occurred_at, event_key, created_at)
    SELECT :shop, 1 + floor(random() * {CUSTOMERS})::int,
        CASE WHEN g % 10 < 3 THEN 'purchase' WHEN g % 10 < 7 THEN 'viewed_product'
             WHEN g % 10 = 7 THEN 'added_to_cart' WHEN g % 10 = 8 THEN 'review_posted'
             ELSE 'newsletter_click' END,
        now()::timestamp - random() * interval '365 days',
        'k' || g, now()
    FROM generate_series(1, {EVENTS}) g
    """,
]


def reset_database(url: str) -> None:
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()


def _index_ddl() -> dict[str, str]:
    """CREATE INDEX statements of the events' indexes, as the migrations made them."""
    rows = db.session.execute(
        text("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'customer_events'")
    )
    return dict(rows.all())


def seed(app) -> None:
    from flask_migrate import upgrade

    from shopify_app.platform.shopify.tokens import TokenGrant
    from shopify_app.platform.shops import install_shop

    with app.app_context():
        upgrade(directory=str(app.config["MIGRATIONS_DIR"]), revision="heads")
        shop = install_shop(SHOP, TokenGrant(access_token="shpat_bench", scope=""))
        shop.name = "Bench Store"
        db.session.commit()
        ddl = _index_ddl()
        for name, constraint in EVENT_INDEXES:
            if constraint:
                db.session.execute(text(f"ALTER TABLE customer_events DROP CONSTRAINT {name}"))
            else:
                db.session.execute(text(f"DROP INDEX {name}"))
        db.session.commit()
        started = time.perf_counter()
        for sql in SEED_SQL:
            t = time.perf_counter()
            db.session.execute(text(sql), {"shop": shop.id})
            db.session.commit()
            print(f"  seeded in {time.perf_counter() - t:6.1f} s: {' '.join(sql.split())[:70]}…")
        t = time.perf_counter()
        for name, constraint in EVENT_INDEXES:
            if constraint:
                db.session.execute(
                    text(f"ALTER TABLE customer_events ADD CONSTRAINT {name} {constraint}")
                )
            else:
                db.session.execute(text(ddl[name]))
        db.session.commit()
        print(f"  events' indexes built in {time.perf_counter() - t:.1f} s")
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
        print(f"seeded in {time.perf_counter() - started:.0f} s")


def seeded(app) -> bool:
    with app.app_context():
        try:
            return bool(db.session.execute(text("SELECT count(*) FROM shops")).scalar())
        except Exception:
            return False


def measure(client, token: str, path: str, query: dict[str, str]) -> list[float]:
    times = []
    for n in range(RUNS + 3):
        started = time.perf_counter()
        response = client.get(path, query_string={**query, "shop": SHOP, "id_token": token})
        elapsed = (time.perf_counter() - started) * 1000
        assert response.status_code == 200, (path, query, response.status_code)
        if n >= 3:  # the first requests warm caches and connections
            times.append(elapsed)
    return times


def report(label: str, times: list[float], target: float | None) -> None:
    p95 = statistics.quantiles(times, n=20)[18]
    verdict = "" if target is None else ("  ok" if p95 < target else f"  OVER {target:.0f} ms")
    print(
        f"{label:46} p50 {statistics.median(times):7.1f} ms   p95 {p95:7.1f} ms"
        f"   max {max(times):7.1f} ms{verdict}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reseed", action="store_true", help="drop and rebuild the data")
    args = parser.parse_args()
    config = {"SQLALCHEMY_DATABASE_URI": DATABASE_URL, "DATABASE_URL": DATABASE_URL}
    if args.reseed:
        reset_database(DATABASE_URL)
    else:
        try:
            create_engine(DATABASE_URL).connect().close()
        except Exception:
            reset_database(DATABASE_URL)
    app = create_app(config)
    if not seeded(app):
        print(f"seeding {CUSTOMERS:,} customers and {EVENTS:,} events …")
        seed(app)

    from shopify_app.platform.auth.demo_tokens import mint_demo_token
    from shopify_app.platform.models import Segment, Shop
    from shopify_app.segments.editing import save_dynamic_segment
    from shopify_app.segments.forms import SegmentRulesForm

    with app.app_context():
        token = mint_demo_token(SHOP)
        shop = db.session.execute(db.select(Shop).where(Shop.domain == SHOP)).scalar_one()
        segment = db.session.execute(
            db.select(Segment).where(Segment.shop_id == shop.id, Segment.name == "Bench")
        ).scalar_one_or_none()
        form = SegmentRulesForm(RULES, shop=shop)
        assert form.validate(), form.field_errors()
        segment = save_dynamic_segment(shop, segment, name="Bench", match="all", rules=form.rules)
        db.session.commit()
        segment_id = segment.id
        counts = db.session.execute(
            text("SELECT (SELECT count(*) FROM customers), (SELECT count(*) FROM customer_events)")
        ).one()
    print(
        f"data: {counts[0]:,} customers, {counts[1]:,} events; {RUNS} timed requests each, "
        "in-process through the app\n"
    )
    client = app.test_client()
    with app.app_context():
        matched = client.get(
            "/segments/count.json", query_string={**RULES, "shop": SHOP, "id_token": token}
        ).get_json()["count"]
        print(f"rule: did purchase ≥ 2 times in the last 30 days AND orders ≥ 10: {matched:,}\n")
        cases = [
            ("live count (/segments/count.json)", "/segments/count.json", RULES, 300.0),
            ("member page, first", f"/segments/{segment_id}", {}, 100.0),
            ("member page, last", f"/segments/{segment_id}", {"last": "1"}, 100.0),
            ("member page, sorted by name", f"/segments/{segment_id}", {"sort": "name"}, 100.0),
            (
                "customers table filtered by the segment",
                "/customers",
                {"segment": str(segment_id)},
                100.0,
            ),
            ("Segments page (counts every segment)", "/segments", {}, None),
        ]
        for label, path, query, target in cases:
            report(label, measure(client, token, path, query), target)


if __name__ == "__main__":
    main()
