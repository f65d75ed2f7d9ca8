"""Nothing acknowledged is lost: a worker SIGKILLed mid-delivery, Redis down on arrival."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import time

import pytest
from redis import Redis
from sqlalchemy import select, text

from shopify_app.platform.extensions import db
from shopify_app.platform.models import Customer, WebhookEvent
from tests.helpers import deliver, run_jobs
from tests.ports import free_port
from tests.workers import wait_for
from webhooks.drain import sweep_webhooks


def _event_status(webhook_id: str) -> tuple[str, int]:
    db.session.expire_all()
    row = db.session.execute(
        select(WebhookEvent.status, WebhookEvent.attempts).where(
            WebhookEvent.webhook_id == webhook_id
        )
    ).one()
    return row.status, row.attempts


@contextlib.contextmanager
def _customer_row_locked(app, customer_id: int):
    """Hold a lock the worker's handler must wait for, so it can be killed mid-delivery."""
    with db.engine.connect() as conn:
        if db.engine.dialect.name == "postgresql":
            conn.execute(
                text("SELECT id FROM customers WHERE id = :id FOR UPDATE"), {"id": customer_id}
            )
        else:
            conn.exec_driver_sql("BEGIN EXCLUSIVE")
        try:
            yield
        finally:
            conn.rollback()


@pytest.mark.slow
def test_worker_killed_mid_delivery_is_redone_exactly_once(
    app, client, shop, shopify_double, workers
):
    d = shopify_double
    c = d.add_customer(shop.domain, first_name="Before", email="kill@example.com")
    deliver(client, d, "customers/create", shop.domain, d.customer_payload(shop.domain, c))
    run_jobs(app)
    customer_id = db.session.execute(select(Customer.id)).scalar_one()
    update = d.customer_payload(
        shop.domain, d.update_customer(shop.domain, c["id"], first_name="After")
    )
    fast = {"WEBHOOK_LEASE_SECONDS": "2", "SWEEP_INTERVAL_SECONDS": "1"}
    # Delivered (stored and queued) before the lock: on SQLite the lock is the database's
    # write lock, which the delivery itself would wait for.
    deliver(client, d, "customers/update", shop.domain, update, webhook_id="kill-me")
    with _customer_row_locked(app, customer_id):
        first = workers.start(**fast)
        if db.engine.dialect.name == "postgresql":
            wait_for(lambda: _event_status("kill-me")[0] == "processing", timeout=30)
        else:
            time.sleep(2)
        first.kill()
    assert db.session.get(Customer, customer_id).first_name == "Before"

    started = time.monotonic()
    workers.start(**fast)
    wait_for(lambda: _event_status("kill-me")[0] == "processed", timeout=60)
    assert time.monotonic() - started < 60
    db.session.expire_all()
    assert db.session.get(Customer, customer_id).first_name == "After"
    status, attempts = _event_status("kill-me")
    assert status == "processed" and attempts <= 2


class RedisServer:
    """A private redis-server this test may stop and start."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                shutil.which("redis-server") or "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = Redis(port=self.port, socket_connect_timeout=0.2)
        wait_for(lambda: _pings(client), timeout=10)

    def stop(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=10)


def _pings(client: Redis) -> bool:
    try:
        return bool(client.ping())
    except Exception:
        return False


@pytest.fixture
def private_redis(app):
    server = RedisServer()
    server.start()
    saved = app.extensions["redis"]
    app.extensions["redis"] = Redis(port=server.port, socket_connect_timeout=0.5, socket_timeout=2)
    yield server
    app.extensions["redis"] = saved
    with contextlib.suppress(AssertionError):
        server.stop()


@pytest.mark.slow
def test_deliveries_while_redis_is_down_are_processed_once_later(
    app, client, shop, shopify_double, private_redis
):
    d = shopify_double
    private_redis.stop()
    sent = []
    for n in range(5):
        c = d.add_customer(shop.domain, first_name=f"Down{n}", email=f"down{n}@example.com")
        payload = d.customer_payload(shop.domain, c)
        assert (
            deliver(client, d, "customers/create", shop.domain, payload, webhook_id=f"down-{n}")
            == "accepted"
        )
        sent.append(payload)
    assert db.session.execute(select(Customer)).first() is None

    private_redis.start()
    # The sweeper picks up deliveries that waited longer than its grace period.
    db.session.execute(
        text("UPDATE webhook_events SET received_at = received_at - interval '1 minute'")
        if db.engine.dialect.name == "postgresql"
        else text("UPDATE webhook_events SET received_at = datetime(received_at, '-60 seconds')")
    )
    db.session.commit()
    assert sweep_webhooks() == 5
    assert sweep_webhooks() == 5  # queued twice on purpose: claims keep it exactly once
    run_jobs(app)
    db.session.expire_all()
    names = sorted(db.session.execute(select(Customer.first_name)).scalars())
    assert names == [f"Down{n}" for n in range(5)]
    for n in range(5):
        assert _event_status(f"down-{n}") == ("processed", 1)
    # Shopify retrying the same deliveries later changes nothing.
    for n, payload in enumerate(sent):
        assert (
            deliver(client, d, "customers/create", shop.domain, payload, webhook_id=f"down-{n}")
            == "duplicate"
        )
