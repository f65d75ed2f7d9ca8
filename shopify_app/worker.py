"""The worker's bootstrap: `flask --app app worker`, its sweeper, and a worker class for `rq`.

An entry point like `app.py`: jobs never build the app themselves. `flask worker` runs them
inside the app's context; plain `rq worker -w shopify_app.worker.AppWorker` builds the app
once per process and runs every job inside its context (it does not sweep: run
`flask --app app sweep` from cron then). Periodic sweeps run in every `flask worker`, but by
one of them at a time (a Redis lock).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from typing import Any

import click
from flask import Flask, current_app
from redis.exceptions import RedisError
from rq import SimpleWorker, Worker
from sqlalchemy.orm import configure_mappers

from shopify_app import create_app
from shopify_app.customers.export_jobs import sweep_exports
from shopify_app.imports.jobs import sweep_imports
from shopify_app.invitations.jobs import sweep_invitations
from shopify_app.loyalty.jobs import sweep_redemptions
from shopify_app.platform.extensions import db, redis_conn
from shopify_app.privacy.jobs import purge_files
from shopify_app.referrals.jobs import sweep_rewards
from webhooks.drain import sweep_webhooks

log = logging.getLogger(__name__)
LOCK_KEY = "shopify_app:sweeper"
#: each re-queues work that was accepted but is not done (never queued, or its worker died);
#: the last deletes files past their retention.
SWEEPS: list[Callable[[], Any]] = [
    sweep_webhooks,
    sweep_imports,
    sweep_exports,
    sweep_rewards,
    sweep_invitations,
    sweep_redemptions,
    purge_files,
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
        for sweep in SWEEPS:
            try:
                sweep()
            except Exception:
                log.exception("sweep %s failed", sweep.__qualname__)


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


class AppWorker(SimpleWorker):
    """`rq worker -w shopify_app.worker.AppWorker`: every job runs inside the app's context.

    The app is built once per worker process, from the environment's settings.
    """

    _app: Flask | None = None

    def execute_job(self, job: Any, queue: Any) -> Any:
        if AppWorker._app is None:
            AppWorker._app = create_app()
        with AppWorker._app.app_context():
            return super().execute_job(job, queue)


@click.command("worker")
@click.option("--burst", is_flag=True, help="exit when the queue is empty")
@click.option(
    "--forking", is_flag=True, help="fork per job (isolation) instead of the faster SimpleWorker"
)
def worker(burst: bool, forking: bool) -> None:
    """Run an RQ worker with this app's settings and the sweeper (or: rq worker -w AppWorker)."""
    configure_mappers()
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    worker_class = Worker if forking else SimpleWorker
    # RQ forks its scheduler from this process: the child must not share pooled connections
    # (or the locks held on them) with the worker.
    engine = db.engine
    os.register_at_fork(after_in_child=lambda: engine.dispose(close=False))
    stop = start_sweeper(app)
    w = worker_class([app.config["RQ_QUEUE"]], connection=redis_conn())
    try:
        w.work(burst=burst, with_scheduler=True)
    finally:
        stop.set()


@click.command("sweep")
def sweep() -> None:
    """Queue accepted work that is not done (for cron, where no worker sweeps)."""
    sweep_once(current_app._get_current_object(), force=True)  # type: ignore[attr-defined]
