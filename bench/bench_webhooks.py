"""Benchmark: webhook intake under load, worker drain rate, and a 100,000-customer initial sync.

Gunicorn serves the app on loopback over PostgreSQL and Redis; wrk sends signed
`customers/update` deliveries of about 2 KB, each with its own webhook id. Then real workers
drain what was accepted, and finally the app syncs 100,000 customers from the Shopify double.
Then paid orders: stored `orders/paid` deliveries drained by one real worker, with the loyalty
points rule off and on (the bar: 500 orders/s per worker with earning on).

    .venv/bin/python bench/bench_webhooks.py [--seconds 20] [--connections 16] [--workers 2]
        [--during-import] [--orders 5000] [--only-orders]

`--during-import` measures the intake again while `bench_imports.py` applies its 1,000,000-row
points file on the same PostgreSQL (its own database and worker).

Needs `wrk` (Debian package; installed here when run as root). Uses its own database
(`bench_webhooks`) and Redis database 9, which it wipes.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from shopify_app import create_app  # noqa: E402
from shopify_app.platform.extensions import db, redis_conn
from shopify_app.platform.models import WebhookEvent

DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/bench_webhooks"
)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")
SECRET = "bench-api-secret-0123456789abcdef-0123"
SHOP = "bench-shop.myshopify.com"
SETTINGS = {
    "DATABASE_URL": DATABASE_URL,
    "REDIS_URL": REDIS_URL,
    "SHOPIFY_API_KEY": "bench-api-key",
    "SHOPIFY_API_SECRET": SECRET,
    "SECRET_KEY": "bench-secret-key",
}


def ensure_database() -> None:
    url = make_url(DATABASE_URL)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": url.database}
        ).scalar():
            conn.execute(text(f'CREATE DATABASE "{url.database}"'))
    admin.dispose()


def reset(app) -> None:
    from flask_migrate import upgrade

    from shopify_app.platform.shopify.tokens import TokenGrant
    from shopify_app.platform.shops import install_shop

    with app.app_context():
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        upgrade(directory=str(ROOT / "migrations"), revision="heads")
        install_shop(SHOP, TokenGrant(access_token="shpat_bench", scope="read_customers"))
        db.session.commit()
        redis_conn().flushdb()


def clear_events(app) -> None:
    """Forget the warm-up's deliveries and their queued drain jobs (an import's stay)."""
    from shopify_app.platform.extensions import queue
    from webhooks.drain import KICK_KEY

    with app.app_context():
        db.session.execute(text("DELETE FROM webhook_events"))
        db.session.execute(text("DELETE FROM customers"))
        db.session.commit()
        queue().empty()
        redis_conn().delete(KICK_KEY)


def customer_payload(n: int) -> bytes:
    """A realistic customers/update body (about 2 KB), as Shopify's REST JSON."""
    address = {
        "id": 9_000_000 + n,
        "customer_id": 7_000_000 + n,
        "first_name": f"First{n}",
        "last_name": f"Last{n}",
        "company": "Example Trading Company",
        "address1": f"{n} Main St",
        "address2": "Suite 200",
        "city": "Montréal",
        "province": "Quebec",
        "country": "Canada",
        "zip": "H2X 1Y4",
        "phone": "+1 514-555-0100",
        "name": f"First{n} Last{n}",
        "province_code": "QC",
        "country_code": "CA",
        "country_name": "Canada",
        "default": True,
    }
    body = {
        "id": 7_000_000 + n,
        "email": f"customer{n}@example.com",
        "created_at": "2026-01-01T10:00:00-05:00",
        "updated_at": f"2026-11-{1 + n % 28:02d}T10:00:00-05:00",
        "first_name": f"First{n}",
        "last_name": f"Last{n}",
        "orders_count": n % 7,
        "state": "enabled" if n % 3 else "disabled",
        "total_spent": f"{n % 500}.00",
        "last_order_id": 450789469 + n,
        "note": "Placed an order that had a fraud warning",
        "verified_email": True,
        "multipass_identifier": None,
        "tax_exempt": False,
        "tags": "loyal, newsletter, vip",
        "last_order_name": f"#{1000 + n}",
        "currency": "CAD",
        "phone": f"+1514555{n % 10000:04d}",
        "addresses": [address],
        "tax_exemptions": [],
        "email_marketing_consent": {
            "state": "subscribed",
            "opt_in_level": "single_opt_in",
            "consent_updated_at": "2026-01-01T10:00:00-05:00",
        },
        "sms_marketing_consent": {
            "state": "not_subscribed",
            "opt_in_level": "single_opt_in",
            "consent_updated_at": None,
            "consent_collected_from": "OTHER",
        },
        "admin_graphql_api_id": f"gid://shopify/Customer/{7_000_000 + n}",
        "default_address": address,
        "locale": "fr",
    }
    return json.dumps(body).encode()


def lua_script(count: int) -> str:
    """wrk script: distinct signed bodies, a fresh webhook id on every request."""
    entries = []
    for n in range(count):
        body = customer_payload(n)
        signature = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest())
        entries.append(f"{{{json.dumps(body.decode())}, {json.dumps(signature.decode())}}}")
    return (
        "local deliveries = {" + ",\n".join(entries) + "}\n"
        "local counter = 0\n"
        "local thread_id = 0\n"
        "function setup(thread) thread:set('tid', tostring(math.random(1, 1e9))) end\n"
        "function init(args) thread_id = tid end\n"
        "function request()\n"
        "  counter = counter + 1\n"
        "  local d = deliveries[(counter % #deliveries) + 1]\n"
        "  local headers = {}\n"
        "  headers['Content-Type'] = 'application/json'\n"
        "  headers['X-Shopify-Topic'] = 'customers/update'\n"
        f"  headers['X-Shopify-Shop-Domain'] = '{SHOP}'\n"
        "  headers['X-Shopify-API-Version'] = '2026-10'\n"
        "  headers['X-Shopify-Hmac-Sha256'] = d[2]\n"
        "  headers['X-Shopify-Webhook-Id'] = 'bench-' .. thread_id .. '-' .. counter\n"
        "  return wrk.format('POST', '/webhooks', headers, d[1])\n"
        "end\n"
    )


def env() -> dict[str, str]:
    return {**os.environ, **SETTINGS, "PYTHONUNBUFFERED": "1"}


def start_gunicorn(
    port: int, workers: int, threads: int, kind: str = "gthread"
) -> subprocess.Popen:
    process = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "-k",
            kind,
            "-w",
            str(workers),
            "--threads",
            str(threads),
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "app:app",
        ],
        cwd=ROOT,
        env=env(),
        start_new_session=True,
    )
    import requests

    for _ in range(200):
        try:
            requests.get(f"http://127.0.0.1:{port}/auth/session-token", timeout=1)
            return process
        except requests.RequestException:
            time.sleep(0.1)
    raise RuntimeError("gunicorn did not start")


def stop(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(process.pid, signal.SIGKILL)


def run_wrk(port: int, seconds: int, connections: int, script: Path) -> dict[str, float]:
    output = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    def latency(label: str) -> float:
        match = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)", output, re.MULTILINE)
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: (.*)", output)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "p50_ms": latency("50"),
        "p99_ms": latency("99"),
        "non_2xx": int(errors.group(1)) if errors else 0,
        "socket_errors": socket_errors.group(1) if socket_errors else "none",
    }


def counts(app) -> tuple[int, int]:
    with app.app_context():
        total = db.session.execute(select(func.count()).select_from(WebhookEvent)).scalar_one()
        done = db.session.execute(
            select(func.count()).where(WebhookEvent.status == "processed")
        ).scalar_one()
        db.session.remove()
        return total, done


def drain(app, workers: int) -> tuple[float, int]:
    total, _ = counts(app)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "app", "worker", "--burst"],
            cwd=ROOT,
            env=env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        for _ in range(workers)
    ]
    started = time.monotonic()
    for proc in procs:
        proc.wait()
    elapsed = time.monotonic() - started
    _, done = counts(app)
    return elapsed, done


def bench_sync(customers: int) -> float:
    """Initial sync of `customers` from the double through the real client and job."""
    from shopify_app.customers.sync_jobs import sync_customers
    from shopify_app.platform.models import Customer
    from shopify_app.platform.shopify.tokens import exchange_session_token
    from shopify_app.platform.shops import install_shop
    from shopify_double import ShopifyDouble
    from shopify_double.demo import seed_customers

    double = ShopifyDouble(api_key="bench-api-key", api_secret=SECRET)
    double.start()
    try:
        double.add_shop("sync-bench.myshopify.com")
        seed_customers(double, "sync-bench.myshopify.com", customers)
        app = create_app({**SETTINGS, "SHOPIFY_API_BASE": double.api_base})
        with app.app_context():
            grant = exchange_session_token(
                "sync-bench.myshopify.com", double.session_token("sync-bench.myshopify.com")
            )
            shop = install_shop("sync-bench.myshopify.com", grant)
            db.session.commit()
            started = time.monotonic()
            sync_customers(shop.id)
            elapsed = time.monotonic() - started
            synced = db.session.execute(
                select(func.count()).where(Customer.shop_id == shop.id)
            ).scalar_one()
            assert synced == customers, (synced, customers)
        return elapsed
    finally:
        double.stop()


def start_import_load() -> subprocess.Popen:
    """Run the import benchmark beside us; returns once its worker is applying the file."""
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "bench/bench_imports.py"), "--no-kill", "--no-sqlite"],
        cwd=ROOT,
        # One Redis, as in production: the import sees the delivery rate and gives way.
        env={**os.environ, "BENCH_IMPORTS_REDIS_URL": REDIS_URL},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    for line in process.stdout:
        if "preview:" in line:
            time.sleep(4)  # the bench starts its worker, waits 2 s, then confirms
            return process
    raise RuntimeError("the import benchmark stopped before its import started")


def finish_import_load(process: subprocess.Popen) -> str:
    """The import benchmark's own report of the import that ran under the webhook load."""
    report = [line.strip() for line in process.stdout if "import:" in line]
    process.wait()
    return report[0] if report else "the import benchmark printed no result"


def intake(port: int, args, script: Path, app, label: str) -> None:
    """One wrk run against a fresh gunicorn; prints accepted deliveries/s and latency."""
    server = start_gunicorn(port, args.gunicorn_workers, args.threads, args.worker_class)
    try:
        run_wrk(port, 3, args.connections, script)  # warm-up
        clear_events(app)
        load = run_wrk(port, args.seconds, args.connections, script)
    finally:
        stop(server)
    accepted, _ = counts(app)
    size = len(customer_payload(1))
    print(
        f"webhook intake{label}: gunicorn {args.worker_class} "
        f"{args.gunicorn_workers}x{args.threads}, "
        f"wrk {args.connections} connections, {args.seconds}s, body {size} bytes"
    )
    print(
        f"  deliveries/s answered: {load['rps']:.0f}  (accepted and stored: "
        f"{accepted / args.seconds:.0f}/s, {accepted} in all)"
    )
    print(
        f"  p50 {load['p50_ms']:.1f} ms, p99 {load['p99_ms']:.1f} ms; non-2xx "
        f"{load['non_2xx']}; socket errors: {load['socket_errors']}"
    )


def order_payload(order_id: int, customer_id: int, cents: int) -> dict:
    """A paid order as orders/paid carries it, with the money sets the points are read from."""
    stamp = "2026-11-20T10:00:00-05:00"
    amount = f"{cents / 100:.2f}"
    money = {
        "shop_money": {"amount": amount, "currency_code": "USD"},
        "presentment_money": {"amount": amount, "currency_code": "USD"},
    }
    return {
        "id": order_id,
        "name": f"#{order_id}",
        "email": f"customer{customer_id}@example.com",
        "currency": "USD",
        "presentment_currency": "USD",
        "total_price": amount,
        "subtotal_price": amount,
        "subtotal_price_set": money,
        "current_subtotal_price_set": money,
        "total_price_set": money,
        "financial_status": "paid",
        "discount_codes": [],
        "customer": {"id": 7_000_000 + customer_id, "email": f"customer{customer_id}@example.com"},
        "line_items": [{"id": order_id * 10, "title": "Gift card", "price": amount, "quantity": 1}],
        "refunds": [],
        "created_at": stamp,
        "processed_at": stamp,
        "updated_at": stamp,
    }


def bench_order_drain(app, orders: int, earning: bool, first_id: int) -> float:
    """`orders` stored orders/paid deliveries drained by one `flask worker`; orders/s.

    Timed from the first claim to the last processed mark (the deliveries' own timestamps),
    so the worker's start-up is left out.
    """
    from sqlalchemy import insert

    from shopify_app.platform.customer_store import ShopifyCustomer, upsert_shopify_customers
    from shopify_app.platform.models.base import utcnow
    from shopify_app.platform.shops import get_shop
    from shopify_app.program.config import get_settings
    from webhooks.drain import kick_drain

    customers = 2000
    with app.app_context():
        shop = get_shop(SHOP)
        if not db.session.execute(text("SELECT count(*) FROM customers")).scalar():
            batch = [
                ShopifyCustomer(7_000_000 + n, f"customer{n}@example.com", f"First{n}", "", "en",
                                "ENABLED", None, None)
                for n in range(customers)
            ]  # fmt: skip
            for start in range(0, customers, 500):
                upsert_shopify_customers(shop, batch[start : start + 500])
        settings = get_settings(shop)
        settings.earn_orders, settings.earn_per_unit = earning, 1
        now = utcnow()
        rows = [
            {
                "webhook_id": f"orders-{first_id + n}",
                "shop_id": shop.id,
                "shop_domain": SHOP,
                "topic": "orders/paid",
                "api_version": "2026-10",
                "payload": json.dumps(order_payload(first_id + n, n % customers, 1999 + n % 9000)),
                "status": "received",
                "attempts": 0,
                "received_at": now,
            }
            for n in range(orders)
        ]
        db.session.execute(insert(WebhookEvent.__table__), rows)
        db.session.commit()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))
        kick_drain()
        worker = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "app", "worker", "--burst"],
            cwd=ROOT,
            env=env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        worker.wait(timeout=600)
        prefix = WebhookEvent.webhook_id.like("orders-%")
        first, last, done = db.session.execute(
            select(
                func.min(WebhookEvent.claimed_at),
                func.max(WebhookEvent.processed_at),
                func.count(WebhookEvent.processed_at),
            ).where(prefix, WebhookEvent.received_at == now)
        ).one()
        earned = db.session.execute(
            text("SELECT count(*) FROM points_entries WHERE source = 'order'")
        ).scalar()
        db.session.commit()
        assert done == orders, (done, orders)
        elapsed = (last - first).total_seconds()
        print(
            f"orders/paid drain, points {'on' if earning else 'off'}: {orders:,} orders in "
            f"{elapsed:.2f}s = {orders / elapsed:,.0f} orders/s per worker "
            f"({earned:,} orders earned points so far)"
        )
        return orders / elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--gunicorn-workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--worker-class", default="sync")
    parser.add_argument("--during-import", action="store_true")
    parser.add_argument("--workers", type=int, default=2, help="RQ workers draining")
    parser.add_argument("--sync-customers", type=int, default=100_000)
    parser.add_argument("--orders", type=int, default=5000, help="paid orders per drain run")
    parser.add_argument("--only-orders", action="store_true", help="only the orders drain")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True)

    ensure_database()
    app = create_app(SETTINGS)
    reset(app)
    if args.only_orders:
        orders_drain(app, args.orders)
        return
    port = 18080
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "deliveries.lua"
        script.write_text(lua_script(2000))
        if args.during_import:
            importer = start_import_load()
            intake(port, args, script, app, " during a 1M-row points import")
            print(f"  {finish_import_load(importer)}")
            clear_events(app)
        intake(port, args, script, app, "")
    if not args.workers:
        return
    elapsed, done = drain(app, args.workers)
    print(
        f"worker drain: {args.workers} SimpleWorkers processed {done} deliveries in "
        f"{elapsed:.1f}s = {done / elapsed:.0f}/s"
    )
    if args.orders:
        clear_events(app)
        orders_drain(app, args.orders)
    if not args.sync_customers:
        return
    sync_seconds = bench_sync(args.sync_customers)
    print(
        f"initial sync: {args.sync_customers} customers from the double in "
        f"{sync_seconds:.1f}s = {args.sync_customers / sync_seconds:.0f}/s"
    )


def orders_drain(app, orders: int) -> None:
    """Paid orders with the points rule off, then on (fresh orders each time), side by side."""
    off = bench_order_drain(app, orders, False, 10_000_000)
    on = bench_order_drain(app, orders, True, 20_000_000)
    print(f"  earning on runs at {on / off:.2f} of earning off; the bar is 500 orders/s")


if __name__ == "__main__":
    main()
