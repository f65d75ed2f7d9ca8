"""Benchmark: a 100,000-member Mailchimp audience into a segment, end to end.

The Mailchimp double runs as its own process (`python -m mailchimp_double`, its limits on:
10 connections per account, 1,000 members a page). The app side runs as the import command
does: the fetch (pages read over MAILCHIMP_CONNECTIONS connections, staged), the contacts
preview, then confirm and the import job, on its own PostgreSQL database. Prints each phase's
seconds and members/s end to end.

    .venv/bin/python bench/bench_mailchimp.py [--members 100000] [--runs 1]

Target (2-core machine): at least 2,000 members/s end to end.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from shopify_app import create_app
from shopify_app.imports.decisions import confirm_import
from shopify_app.imports.jobs import run_import
from shopify_app.mailchimp.client import MailchimpClient
from shopify_app.mailchimp.fetching import run_fetch, start_fetch
from shopify_app.platform.extensions import db
from shopify_app.platform.models import ImportJob, MailchimpFetch, Shop
from shopify_app.segments.store import get_or_create_segment
from tests.ports import free_port

PG_URL = os.environ.get(
    "BENCH_MAILCHIMP_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/bench_mailchimp"
)
REDIS_URL = os.environ.get("BENCH_MAILCHIMP_REDIS_URL", "redis://127.0.0.1:6379/11")


def recreate_database(url: str) -> None:
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()


def start_double(members: int) -> tuple[subprocess.Popen, str, str]:
    """The double with the demo account and a `members`-member audience; (process, API base,
    API key)."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "mailchimp_double", "--port", str(port), "--large", str(members)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    key = ""
    assert process.stdout is not None
    for line in process.stdout:
        if match := re.search(r"API key: (\S+)", line):
            key = match.group(1)
            break
    return process, f"http://127.0.0.1:{port}/{{dc}}/3.0", key


def run_once(app, api_key: str, list_id: str, members: int, n: int) -> float:
    with app.app_context():
        # A shop of its own per run: every run creates its 100,000 contacts.
        shop = Shop(domain=f"bench-shop-{n}.myshopify.com", name=f"Bench {n}")
        db.session.add(shop)
        db.session.commit()
        client = MailchimpClient.for_api_key(api_key)
        started = time.monotonic()
        segment = get_or_create_segment(shop, f"Mailchimp {n}")
        fetch = start_fetch(shop, client, [list_id], segment)
        db.session.commit()
        fetch_id = fetch.id
        assert run_fetch(fetch_id, client) == "done"
        fetched = time.monotonic()
        fetch = db.session.get(MailchimpFetch, fetch_id)
        job = db.session.get(ImportJob, fetch.import_id)
        seconds = job.summary["mailchimp"]["seconds"]
        confirm_import(shop, job, apply_with_errors=True, confirm_duplicate=True)
        db.session.commit()
        import_id = job.id
        outcome = run_import(import_id)
        done = time.monotonic()
        db.session.expire_all()
        job = db.session.get(ImportJob, import_id)
        assert outcome == "done" and job.applied_rows == members, (outcome, job.applied_rows)
        total = done - started
        print(
            f"run {n}: {members:,} members in {total:.1f} s = {members / total:,.0f} members/s | "
            f"read {seconds['read']:.1f} s, preview {seconds['preview']:.1f} s, "
            f"fetch total {fetched - started:.1f} s, confirm+apply {done - fetched:.1f} s "
            "(all new contacts)",
            flush=True,
        )
        return members / total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    recreate_database(PG_URL)
    process, api_base, key = start_double(args.members)
    workdir = Path(tempfile.mkdtemp(prefix="bench-mailchimp-"))
    try:
        app = create_app(
            {
                "DATABASE_URL": PG_URL,
                "SQLALCHEMY_DATABASE_URI": PG_URL,
                "REDIS_URL": REDIS_URL,
                "RQ_QUEUE": "bench-mailchimp",
                "IMPORT_DIR": str(workdir / "imports"),
                "EXPORT_DIR": str(workdir / "exports"),
                "SECRET_KEY": "bench-secret",
                "MAILCHIMP_API_BASE": api_base,
            }
        )
        with app.app_context():
            from flask_migrate import upgrade

            upgrade(directory=str(ROOT / "migrations"), revision="heads")
            client = MailchimpClient.for_api_key(key)
            list_id = next(a["id"] for a in client.audiences() if a["name"].startswith("Large"))
        rates = [run_once(app, key, list_id, args.members, n + 1) for n in range(args.runs)]
        print(f"members/s: {min(rates):,.0f}–{max(rates):,.0f} (target ≥ 2,000)")
    finally:
        process.terminate()
        process.wait(timeout=10)


if __name__ == "__main__":
    main()
