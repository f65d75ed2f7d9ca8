"""Periodic sweeps run by every worker, but by one of them at a time (a Redis lock)."""

from __future__ import annotations

import importlib
import logging
import threading

from flask import Flask
from redis.exceptions import RedisError

from shopify_app.platform.extensions import redis_conn

log = logging.getLogger(__name__)
LOCK_KEY = "shopify_app:sweeper"
#: each re-queues work that was accepted but is not done (never queued, or its worker died);
#: the last deletes files past their retention.
SWEEPS = [
    "shopify_app.jobs.webhooks.sweep_webhooks",
    "shopify_app.jobs.imports.sweep_imports",
    "shopify_app.jobs.exports.sweep_exports",
    "shopify_app.jobs.referrals.sweep_rewards",
    "shopify_app.jobs.email.sweep_invitations",
    "shopify_app.jobs.files.purge_files",
]


def sweep_once(app: Flask, *, force: bool = False) -> None:
    """Run the sweeps unless another worker did within the interval."""
    with app.app_context():
        try:
            interval = max(int(app.config["SWEEP_INTERVAL_SECONDS"]) - 1, 1)
            if not force and not redis_conn().set(LOCK_KEY, "1", nx=True, ex=interval):
                return
        except RedisError as error:
            log.warning("sweeper cannot reach Redis: %s", error)
            return
        for dotted in SWEEPS:
            module, _, name = dotted.rpartition(".")
            try:
                getattr(importlib.import_module(module), name)()
            except Exception:
                log.exception("sweep %s failed", dotted)


def start_sweeper(app: Flask) -> threading.Event:
    """Sweep in a daemon thread beside the worker; set the returned event to stop it."""
    stop = threading.Event()
    interval = app.config["SWEEP_INTERVAL_SECONDS"]

    def loop() -> None:
        while not stop.wait(interval):
            sweep_once(app)

    sweep_once(app)
    threading.Thread(target=loop, name="sweeper", daemon=True).start()
    return stop
