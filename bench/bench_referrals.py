"""Benchmark the referral engine and invitations on PostgreSQL, and print the figures.

1. Invitations: 10,000 customers invited through the real path (batch → prepare job → sender
   jobs run by real `flask --app app worker --burst` processes → SMTP to a local aiosmtpd
   server), with 1 worker and then 2: emails/s per worker and the time until all are sent.
2. Attribution: stored `orders/paid` deliveries processed by the webhook job
   (`jobs.webhooks.process_event`: claim, handler, engine, commit): orders completing a
   referral (reward row + its Shopify sync queued) and orders paying with a reward code,
   in-process; then the same mix through a real RQ worker process (RQ's per-job cost included).

    .venv/bin/python bench/bench_referrals.py [--customers 10000] [--orders 5000]

Targets (this 2-core machine): ≥ 200 emails/s per worker, ≥ 500 orders/s per worker.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from aiosmtpd.controller import Controller
from sqlalchemy import create_engine, func, insert, select, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from shopify_app import create_app  # noqa: E402
from shopify_app.extensions import db, queue, redis_conn  # noqa: E402
from shopify_app.models import (  # noqa: E402
    Customer,
    InvitationBatch,
    Referral,
    Reward,
    WebhookEvent,
)
from shopify_app.models.base import utcnow  # noqa: E402

PG_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/bench_referrals"
)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/10")
QUEUE = "bench-referrals"
SHOP = "bench-referrals.myshopify.com"
FIRST_SHOPIFY_ID = 6_100_000_000


class Counter:
    """aiosmtpd handler that only counts what it accepts."""

    def __init__(self) -> None:
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        with self.lock:
            self.count += 1
        return "250 OK"


def recreate_database(url: str) -> None:
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def worker_env(smtp_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": PG_URL,
        "REDIS_URL": REDIS_URL,
        "RQ_QUEUE": QUEUE,
        "SMTP_URL": smtp_url,
        "SHOPIFY_API_BASE": "http://127.0.0.1:9/{shop}",
        "SWEEP_INTERVAL_SECONDS": "3600",
    }


def run_workers(count: int, smtp_url: str) -> None:
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "app", "worker", "--burst"],
            cwd=ROOT,
            env=worker_env(smtp_url),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(count)
    ]
    for process in processes:
        process.wait(timeout=1800)


def seed_customers(shop, count: int) -> list[int]:
    from shopify_app.services.customers import email_fields

    rng = random.Random(3)
    now = utcnow()
    rows = []
    for n in range(count):
        rows.append(
            {
                "shop_id": shop.id,
                "shopify_id": FIRST_SHOPIFY_ID + n,
                "first_name": f"Bench{n}",
                "last_name": "Customer",
                "locale": rng.choice(["en", "en", "fr", "de"]),
                "state": "ENABLED",
                "is_member": True,
                "tags": "",
                "unsubscribed": False,
                "points_balance": 0,
                "total_referees": 0,
                "successful_referrals": 0,
                "referrer_revenue_minor": 0,
                "referee_revenue_minor": 0,
                "created_at": now,
                "updated_at": now,
                **email_fields(f"bench{n}@example.com"),
            }
        )
    for start in range(0, count, 5000):
        db.session.execute(insert(Customer.__table__), rows[start : start + 5000])
    db.session.commit()
    return db.session.scalars(
        select(Customer.id).where(Customer.shop_id == shop.id).order_by(Customer.id)
    ).all()


def bench_invitations(app, shop, ids: list[int], workers: int, counter: Counter, smtp_url: str):
    from shopify_app.jobs import enqueue
    from shopify_app.models import Invitation
    from shopify_app.services import invitations

    db.session.execute(Invitation.__table__.delete())
    db.session.execute(
        Customer.__table__.update()
        .where(Customer.shop_id == shop.id)
        .values(joined_at=None, referral_code=None)
    )
    db.session.commit()
    before = counter.count
    started = time.perf_counter()
    batch = invitations.create_batch(shop, invitations.Selection(customer_ids=tuple(ids)))
    db.session.commit()
    enqueue("shopify_app.jobs.email.prepare_batch", batch.id, job_id=f"prepare-{batch.id}")
    request_done = time.perf_counter() - started
    run_workers(workers, smtp_url)
    elapsed = time.perf_counter() - started
    db.session.expire_all()
    batch = db.session.get(InvitationBatch, batch.id)
    received = counter.count - before
    print(
        f"invitations, {workers} worker(s): {batch.sent:,} sent, {batch.failed} failed, "
        f"{received:,} received by SMTP; all sent in {elapsed:.1f} s "
        f"→ {received / elapsed:,.0f} emails/s, {received / elapsed / workers:,.0f} emails/s "
        f"per worker (the Send request itself: {request_done * 1000:.0f} ms)"
    )


def order_payload(order_id: int, customer_shopify_id: int, email: str, codes: list[str], total):
    stamp = utcnow().isoformat()
    return {
        "id": order_id,
        "name": f"#{order_id}",
        "email": email,
        "currency": "USD",
        "total_price": f"{total / 100:.2f}",
        "financial_status": "paid",
        "discount_codes": [{"code": c, "amount": "5.00", "type": "fixed_amount"} for c in codes],
        "customer": {"id": customer_shopify_id, "email": email},
        "created_at": stamp,
        "processed_at": stamp,
        "updated_at": stamp,
    }


def store_deliveries(shop, payloads: list[dict], tag: str) -> list[int]:
    now = utcnow()
    rows = [
        {
            "webhook_id": f"{tag}-{p['id']}",
            "shop_id": shop.id,
            "shop_domain": shop.domain,
            "topic": "orders/paid",
            "api_version": "2026-10",
            "payload": json.dumps(p),
            "status": "received",
            "attempts": 0,
            "received_at": now,
        }
        for p in payloads
    ]
    db.session.execute(insert(WebhookEvent.__table__), rows)
    db.session.commit()
    return db.session.scalars(
        select(WebhookEvent.id).where(WebhookEvent.webhook_id.like(f"{tag}-%"))
    ).all()


def referral_orders(shop, referrers, referees, first_order_id: int) -> list[dict]:
    """Pending referrals (visits through the engine) and, per referral, its referee's order."""
    from shopify_app.services.discounts import OfflineDiscounts
    from shopify_app.services.referrals import record_visit

    offline = OfflineDiscounts()
    payloads = []
    for n, (referrer, referee) in enumerate(zip(referrers, referees, strict=True)):
        code = record_visit(shop, referrer.referral_code, None, offline).referral.discount_code
        payloads.append(
            order_payload(first_order_id + n, referee.shopify_id, referee.email, [code], 4500 + n)
        )
    db.session.commit()
    analyze()
    return payloads


def analyze() -> None:
    """Fresh planner statistics after a bulk load, as autovacuum keeps them in production."""
    db.session.commit()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))


def report_attribution(label: str, orders: int, elapsed: float, note: str) -> None:
    print(
        f"attribution, {label}: {orders:,} paid orders in {elapsed:.2f} s → "
        f"{orders / elapsed:,.0f} orders/s per worker ({note})"
    )


def bench_attribution(app, shop, ids: list[int], orders: int, smtp_url: str) -> None:
    from shopify_app.jobs.webhooks import process_event, queue_event
    from shopify_app.services import program
    from shopify_app.services.orders import upsert_order
    from shopify_app.services.referrals import on_order_paid

    referrers = db.session.scalars(select(Customer).where(Customer.id.in_(ids[:orders]))).all()
    referees = db.session.scalars(
        select(Customer).where(Customer.id.in_(ids[orders : orders * 4])).order_by(Customer.id)
    ).all()
    program.join_customers(shop, [c.id for c in referrers])
    db.session.commit()
    for referrer in referrers:
        db.session.refresh(referrer)
    groups = [referees[n * orders : (n + 1) * orders] for n in range(3)]

    # 1. The engine alone: orders already stored, on_order_paid, one commit per 100 orders.
    stored = []
    for payload in referral_orders(shop, referrers, groups[0], 9_000_000):
        stored.append(upsert_order(shop, payload)[0].id)
    db.session.commit()
    from shopify_app.models import Order

    started = time.perf_counter()
    for start in range(0, len(stored), 100):
        for order in db.session.scalars(
            select(Order).where(Order.id.in_(stored[start : start + 100]))
        ):
            on_order_paid(shop, order)
        db.session.commit()
    report_attribution(
        "the engine alone (on_order_paid, commit per 100)",
        len(stored),
        time.perf_counter() - started,
        "each completes a referral and creates its reward",
    )
    queue().empty()

    # 2. The webhook job, in-process: claim, upsert, engine, commit — per delivery.
    event_ids = store_deliveries(
        shop, referral_orders(shop, referrers, groups[1], 9_100_000), "complete"
    )
    started = time.perf_counter()
    for event_id in event_ids:
        process_event(event_id)
    report_attribution(
        "webhook job in-process (process_event per delivery)",
        len(event_ids),
        time.perf_counter() - started,
        "two durable commits per delivery: the claim and the result",
    )
    queue().empty()

    # 3. The same with synchronous_commit=off on the worker's connection (a deployment knob).
    event_ids = store_deliveries(
        shop, referral_orders(shop, referrers, groups[2], 9_200_000), "async"
    )
    db.session.execute(text("SET synchronous_commit = off"))
    started = time.perf_counter()
    for event_id in event_ids:
        process_event(event_id)
    elapsed = time.perf_counter() - started
    db.session.rollback()
    report_attribution(
        "webhook job in-process, synchronous_commit=off",
        len(event_ids),
        elapsed,
        "commits return before the WAL flush",
    )
    queue().empty()

    # 4. A real RQ worker process: reward codes used (Used + referrer revenue) and plain orders.
    rewards = db.session.execute(
        select(Reward.code, Customer.shopify_id, Customer.email)
        .join(Customer, Customer.id == Reward.customer_id)
        .limit(orders)
    ).all()
    payloads = [
        order_payload(9_500_000 + n, shopify_id, email, [code], 3000 + n)
        for n, (code, shopify_id, email) in enumerate(rewards)
    ]
    plain = [
        order_payload(9_800_000 + n, c.shopify_id, c.email, [], 2000 + n)
        for n, c in enumerate(referrers[: len(payloads)])
    ]
    event_ids = store_deliveries(shop, payloads + plain, "reward")
    for event_id in event_ids:
        queue_event(event_id)
    started = time.perf_counter()
    run_workers(1, smtp_url)
    report_attribution(
        "real RQ worker process",
        len(event_ids),
        time.perf_counter() - started,
        "half pay with a reward code, half carry no code; worker start-up and RQ included",
    )
    completed = db.session.scalar(select(func.count()).where(Referral.status == "completed"))
    used = db.session.scalar(select(func.count()).where(Reward.status == "used"))
    print(f"check: {completed:,} referrals completed, {used:,} rewards used")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--orders", type=int, default=2_000, help="orders per measurement")
    args = parser.parse_args()

    recreate_database(PG_URL)
    counter = Counter()
    port = free_port()
    controller = Controller(counter, hostname="127.0.0.1", port=port)
    controller.start()
    smtp_url = f"smtp://127.0.0.1:{port}"
    app = create_app(
        {
            "DATABASE_URL": PG_URL,
            "SQLALCHEMY_DATABASE_URI": PG_URL,
            "REDIS_URL": REDIS_URL,
            "RQ_QUEUE": QUEUE,
            "SMTP_URL": smtp_url,
            "SHOPIFY_API_BASE": "http://127.0.0.1:9/{shop}",
        }
    )
    try:
        with app.app_context():
            from flask_migrate import upgrade

            from shopify_app.services.shops import install_shop
            from shopify_app.shopify.tokens import TokenGrant

            upgrade(directory=str(app.config["MIGRATIONS_DIR"]), revision="heads")
            redis_conn().flushdb()
            shop = install_shop(SHOP, TokenGrant(access_token="shpat_bench", scope=""))
            shop.name = "Bench Shop"
            db.session.commit()
            ids = seed_customers(shop, args.customers)
            analyze()
            print(f"seeded {len(ids):,} customers on PostgreSQL; SMTP: aiosmtpd on {smtp_url}")
            for workers in (1, 2):
                bench_invitations(app, shop, ids, workers, counter, smtp_url)
            bench_attribution(app, shop, ids, min(args.orders, len(ids) // 4), smtp_url)
            redis_conn().flushdb()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
