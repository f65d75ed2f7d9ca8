"""`flask --app app …` commands: schema, demo shop, worker (imports register their own)."""

from __future__ import annotations

import os

import click
from flask import Flask, current_app
from flask_migrate import upgrade
from sqlalchemy.orm import configure_mappers

from shopify_app.csv_imports import cli as csv_imports_cli
from shopify_app.platform.extensions import db, redis_conn


def init_app(app: Flask) -> None:
    app.cli.add_command(init_db)
    app.cli.add_command(demo)
    app.cli.add_command(worker)
    app.cli.add_command(sweep)
    csv_imports_cli.init_app(app)


@click.command("init-db")
def init_db() -> None:
    """Create or upgrade the schema through the Alembic migrations."""
    upgrade(directory=str(current_app.config["MIGRATIONS_DIR"]), revision="heads")
    click.echo("database schema is up to date")


@click.command("demo")
@click.option("--customers", default=3000, show_default=True, help="customers to seed")
@click.option("--base-url", default="http://127.0.0.1:5000", show_default=True)
@click.option(
    "--sync-timeout", default=600.0, show_default=True, help="seconds to wait for the worker's sync"
)
def demo(customers: int, base_url: str, sync_timeout: float) -> None:
    """Seed the demo shop (idempotent) and print the URL that opens it."""
    from shopify_app.csv_imports.samples import seed_demo_imports
    from shopify_app.demo import demo_home_url, prepare_demo_shop, wait_for_sync
    from shopify_app.demo_referrals import seed_demo_referrals

    shop, source = prepare_demo_shop(customers)
    db.session.commit()
    click.echo(f"demo shop {shop.domain}: customers {source}")
    if shop.sync_status != "done":
        click.echo(f"demo shop {shop.domain}: {wait_for_sync(shop, sync_timeout)}")
    click.echo(seed_demo_referrals(shop))
    click.echo(seed_demo_imports(shop))
    db.session.commit()
    click.echo(f"open {demo_home_url(base_url)}")


@click.command("worker")
@click.option("--burst", is_flag=True, help="exit when the queue is empty")
@click.option(
    "--forking", is_flag=True, help="fork per job (isolation) instead of the faster SimpleWorker"
)
def worker(burst: bool, forking: bool) -> None:
    """Run an RQ worker with this app's settings (plain `rq worker` works too)."""
    from rq import SimpleWorker, Worker

    import shopify_app.jobs as jobs

    configure_mappers()
    jobs._job_app = current_app._get_current_object()  # type: ignore[attr-defined]
    worker_class = Worker if forking else SimpleWorker
    from shopify_app.jobs.sweeper import start_sweeper

    app = current_app._get_current_object()  # type: ignore[attr-defined]
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
    from shopify_app.jobs.sweeper import sweep_once

    sweep_once(current_app._get_current_object(), force=True)  # type: ignore[attr-defined]
