"""Benchmark the referral engine and invitations on PostgreSQL, and print the figures.

1. Invitations: 10,000 customers invited through the real path (batch → prepare job → sender
   jobs run by real `flask --app app worker --burst` processes → SMTP to a local aiosmtpd
   server), with 1 worker and then 2: emails/s per worker and the time until all are sent.
2. Attribution: stored `orders/paid` deliveries drained by one real RQ worker process (the
   production path: a drain job claims batches, runs each delivery's handler and the engine,
   commits per batch): plain orders, orders completing a referral, orders paying with a
   reward code, and a mixed stream.

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
from shopify_app.platform.extensions import db, queue, redis_conn
from shopify_app.platform.models import (
    Customer,
    InvitationBatch,
    PointBalance,
    Referral,
    Reward,
    WebhookEvent,
)
from shopify_app.platform.models.base import utcnow

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
    from shopify_app.platform.customer_store import email_fields

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
    db.session.execute(
        insert(PointBalance).from_select(
            ["customer_id", "shop_id"],
            select(Customer.id, Customer.shop_id).where(Customer.shop_id == shop.id),
        )
    )
    db.session.commit()
    return db.session.scalars(
        select(Customer.id).where(Customer.shop_id == shop.id).order_by(Customer.id)
    ).all()


def bench_invitations(app, shop, ids: list[int], workers: int, counter: Counter, smtp_url: str):
    from shopify_app.invitations.batches import create_batch
    from shopify_app.invitations.selection import Selection
    from shopify_app.platform.models import Invitation
    from shopify_app.platform.queue import enqueue

    db.session.execute(Invitation.__table__.delete())
    db.session.execute(
        Customer.__table__.update()
        .where(Customer.shop_id == shop.id)
        .values(joined_at=None, referral_code=None)
    )
    db.session.commit()
    before = counter.count
    started = time.perf_counter()
    batch = create_batch(shop, Selection(customer_ids=tuple(ids)))
    db.session.commit()
    enqueue("shopify_app.invitations.jobs.prepare_batch", batch.id, job_id=f"prepare-{batch.id}")
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
    from shopify_app.platform.shopify.discounts import OfflineDiscounts
    from shopify_app.referrals.visits import record_visit

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


def drain_with_worker(smtp_url: str, event_ids: list[int]) -> float:
    """One drain job, run by a real `flask --app app worker` process; returns its seconds.

    Timed from the first claim to the last result, from the deliveries' own timestamps, so
    the worker's start-up is left out. The worker is stopped once every delivery is done: the
    reward syncs the completions queue would call Shopify, which is not here.
    """
    from webhooks.drain import kick_drain

    kick_drain()
    worker = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "app", "worker"],
        cwd=ROOT,
        env=worker_env(smtp_url),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            first, last, done = db.session.execute(
                select(
                    func.min(WebhookEvent.claimed_at),
                    func.max(WebhookEvent.processed_at),
                    func.count(WebhookEvent.processed_at),
                ).where(WebhookEvent.id.in_(event_ids))
            ).one()
            db.session.commit()
            if done == len(event_ids):
                return (last - first).total_seconds()
            time.sleep(0.2)
        raise TimeoutError(f"{done} of {len(event_ids)} deliveries processed")
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=5)
        except subprocess.TimeoutExpired:
            # Busy syncing the rewards with a Shopify that is not here: not worth the wait.
            worker.kill()
            worker.wait(timeout=30)
        queue().empty()


def report_attribution(label: str, orders: int, elapsed: float) -> None:
    print(
        f"attribution, {label}: {orders:,} paid orders in {elapsed:.2f} s → "
        f"{orders / elapsed:,.0f} orders/s per worker"
    )


def bench_attribution(app, shop, ids: list[int], orders: int, smtp_url: str) -> None:
    """Paid-order deliveries drained by one real RQ worker: each kind alone, then a mix.

    Kinds: plain (no code, or the merchant's own code), completing a referral (its reward is
    created and its Shopify sync queued), and paying with a reward code (Used, referrer
    revenue). The mix is what a store with a busy program sees: 85% plain, 10% referral
    completions, 5% reward codes.
    """
    from shopify_app.program import config as program

    rng = random.Random(11)
    customers = db.session.scalars(
        select(Customer).where(Customer.id.in_(ids)).order_by(Customer.id)
    ).all()
    referrers, referees = customers[: orders * 2], customers[orders * 2 :]
    program.join_customers(shop, [c.id for c in referrers])
    db.session.commit()
    for referrer in referrers:
        db.session.refresh(referrer)
    next_order = iter(range(9_000_000, 99_000_000))
    pool = iter(referees)

    def plain(count: int) -> list[dict]:
        return [
            order_payload(
                next(next_order),
                c.shopify_id,
                c.email,
                ["SUMMER10"] if n % 3 == 0 else [],
                2000 + n,
            )
            for n, c in enumerate(rng.choices(referrers, k=count))
        ]

    def completing(count: int) -> list[dict]:
        pairs = [(rng.choice(referrers), next(pool)) for _ in range(count)]
        first = next(next_order)
        for _ in range(count - 1):
            next(next_order)
        return referral_orders(shop, [r for r, _ in pairs], [e for _, e in pairs], first)

    def with_rewards(count: int) -> list[dict]:
        rewards = db.session.execute(
            select(Reward.code, Customer.shopify_id, Customer.email)
            .join(Customer, Customer.id == Reward.customer_id)
            .where(Reward.status == "unused")
            .limit(count)
        ).all()
        assert len(rewards) == count, "complete more referrals first"
        return [
            order_payload(next(next_order), shopify_id, email, [code], 3000 + n)
            for n, (code, shopify_id, email) in enumerate(rewards)
        ]

    def run(label: str, payloads: list[dict]) -> None:
        event_ids = store_deliveries(shop, payloads, label.split()[0])
        analyze()
        report_attribution(label, len(event_ids), drain_with_worker(smtp_url, event_ids))
        queue().empty()  # the reward syncs the completions queued: Shopify is not here

    run("plain orders (a third with the merchant's own code)", plain(orders))
    run("completing referrals (reward created, its sync queued)", completing(orders))
    run("reward codes used (Used, referrer revenue)", with_rewards(orders // 2))
    mix = plain(orders * 85 // 100) + completing(orders // 10) + with_rewards(orders // 20)
    rng.shuffle(mix)
    run("mixed stream, 85% plain / 10% completing / 5% reward codes", mix)
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

            from shopify_app.platform.shopify.tokens import TokenGrant
            from shopify_app.platform.shops import install_shop

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
            bench_attribution(app, shop, ids, min(args.orders, len(ids) // 5), smtp_url)
            redis_conn().flushdb()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
