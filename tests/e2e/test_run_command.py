"""`bin/run` as a newcomer runs it: the Shopify double, a worker, the mail sink, the web server.

The quick-start test seeds the demo without Shopify; these take the path `bin/run` really
takes: the double answers the token exchange and the Admin API, the worker runs the sync,
the demo's invitations land in the local mail sink and show on the admin's mail page, and
`kill <pid>` stops every process it started.
"""

from __future__ import annotations

import contextlib
import html
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
import requests
from sqlalchemy import func, select

from demo.shop import prepare_demo_shop
from shopify_app.home.status import shop_status
from shopify_app.platform.auth.demo_tokens import DEMO_SHOP
from shopify_app.platform.extensions import db
from shopify_app.platform.models import Customer
from shopify_double.demo import seed_customers
from tests.helpers import run_jobs
from tests.ports import free_port
from tests.workers import ROOT, wait_for

CUSTOMERS = 300
#: the suite's own Redis database (never the demo's default, database 0).
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
TOKEN = re.compile(r'<meta name="session-token" content="([^"]+)"')


def test_a_second_demo_run_counts_the_store_once(ctx, shopify_double):
    """`flask demo` on every `bin/run`: the sync starts afresh instead of adding to the last."""
    shopify_double.add_shop(DEMO_SHOP)
    seed_customers(shopify_double, DEMO_SHOP, 60)
    for _ in range(2):
        shop, source = prepare_demo_shop(60)
        db.session.commit()
        run_jobs(ctx)  # the sync job, as bin/run's worker runs it
        db.session.expire_all()
        assert "Shopify double" in source
        assert (shop.sync_status, shop.sync_done, shop.sync_total) == ("done", 60, 60)
        assert shop_status(shop).as_json()["message"] == "60 customers synced"
    count = select(func.count()).select_from(Customer).where(Customer.shop_id == shop.id)
    assert db.session.scalar(count) == 60


def descendants(pid: int) -> set[int]:
    """Every live process below `pid`, from /proc (children of children included)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                stat = (entry / "stat").read_text()
                parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def running(pid: int) -> bool:
    """Alive and not a zombie (an orphan's zombie waits on init, it runs nothing)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@dataclass
class RunCommand:
    process: subprocess.Popen
    base: str
    home: str
    run_dir: Path
    output: Path
    #: bin/run's children once it is up (the double, the sink, the worker, the web server…).
    children: set[int]

    def token(self) -> str:
        """A demo session token, from the page the demo redirects to (as a browser gets it)."""
        page = requests.get(f"{self.base}/?shop={DEMO_SHOP}&embedded=1", timeout=10)
        match = TOKEN.search(page.text)
        assert match, page.text[:500]
        return match.group(1)

    def get(self, path: str) -> requests.Response:
        separator = "&" if "?" in path else "?"
        response = requests.get(f"{self.base}{path}{separator}shop={DEMO_SHOP}", timeout=10)
        assert response.status_code == 200, response.text[:500]
        return response


@pytest.fixture(scope="module")
def bin_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunCommand]:
    """`bin/run` on free ports, its own SQLite file, folders and Redis database."""
    run_dir = tmp_path_factory.mktemp("bin-run")
    port = free_port()
    env = {
        **os.environ,
        "VENV": sys.prefix,  # the suite's virtualenv (bin/setup finds it up to date)
        "PORT": str(port),
        "DOUBLE_PORT": str(free_port()),
        "KLAVIYO_DOUBLE_PORT": str(free_port()),
        "SMTP_PORT": str(free_port()),
        "MAILCHIMP_DOUBLE_PORT": str(free_port()),
        "DEMO_CUSTOMERS": str(CUSTOMERS),
        "RUN_DIR": str(run_dir),
        "REDIS_URL": REDIS_URL,
        "DATABASE_URL": f"sqlite:///{run_dir / 'demo.sqlite3'}",
        "IMPORT_DIR": str(run_dir / "imports"),
        "EXPORT_DIR": str(run_dir / "exports"),
        "PYTHONUNBUFFERED": "1",
    }
    redis.Redis.from_url(REDIS_URL).flushdb()
    output = run_dir / "bin-run.log"
    with output.open("w") as log:
        process = subprocess.Popen(
            [str(ROOT / "bin" / "run")], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    seen: set[int] = set()
    try:
        deadline = time.monotonic() + 240
        while "Open: " not in output.read_text():
            assert process.poll() is None, output.read_text()
            assert time.monotonic() < deadline, output.read_text()
            seen |= descendants(process.pid)
            time.sleep(0.2)
        home = output.read_text().split("Open: ", 1)[1].splitlines()[0]
        base = f"http://127.0.0.1:{port}"
        wait_for(lambda: _answers(base), timeout=30)
        children = descendants(process.pid)
        yield RunCommand(process, base, home, run_dir, output, children)
    finally:
        seen |= descendants(process.pid) if process.poll() is None else set()
        for pid in seen:  # whatever bin/run left behind (it should leave nothing)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        process.wait(timeout=10)
        print(output.read_text())
        redis.Redis.from_url(REDIS_URL).flushdb()


def _answers(base: str) -> bool:
    try:
        requests.get(f"{base}/auth/session-token", timeout=1)
    except requests.ConnectionError:
        return False
    return True


@pytest.mark.slow
def test_bin_run_installs_and_syncs_the_demo_through_the_double_and_a_worker(bin_run):
    log = bin_run.output.read_text()
    assert "syncing from the Shopify double through the Admin API" in log  # token exchange
    assert f"{CUSTOMERS:,} customers synced" in log
    worker_log = (bin_run.run_dir / "worker.log").read_text()
    assert "Successfully completed shopify_app.customers.sync_jobs.sync_customers" in worker_log
    assert "Running with an RQ worker on " + REDIS_URL in log

    home = requests.get(bin_run.home, timeout=10)
    assert home.status_code == 200 and "Demo Referrals Store" in home.text
    assert "Members" in home.text and "Guests" in home.text
    status = bin_run.get("/status.json").json()
    assert status["members"] > 0 and status["guests"] > 0
    assert status["members"] + status["guests"] == CUSTOMERS
    assert (status["status"], status["message"]) == ("done", f"{CUSTOMERS:,} customers synced")
    customers = bin_run.get("/customers").text
    assert "Members" in customers and "Guests" in customers


@pytest.mark.slow
def test_an_invitation_sent_in_the_demo_arrives_on_the_caught_emails_page(bin_run):
    # The demo's own seeding already invited a few through the real SMTP path.
    page = bin_run.get("/demo/mail").text
    assert "Caught emails" in page and page.count("invites you to refer a friend") >= 25
    with sqlite3.connect(bin_run.run_dir / "demo.sqlite3") as conn:
        customer_id, email = conn.execute(
            "SELECT id, email FROM customers WHERE email IS NOT NULL AND joined_at IS NULL"
            " AND id NOT IN (SELECT customer_id FROM invitations) ORDER BY id LIMIT 1"
        ).fetchone()
    assert email not in page

    response = requests.post(
        f"{bin_run.base}/invitations",
        data={"customer_id": customer_id, "id_token": bin_run.token()},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 302
    wait_for(lambda: email in bin_run.get("/demo/mail").text, timeout=30)
    listing = bin_run.get("/demo/mail").text
    row = next(line for line in listing.split("<tr>") if email in line)
    caught = re.search(r"/demo/mail/([0-9]+-[0-9a-f]{8})", row)
    assert caught
    body = bin_run.get(f"/demo/mail/{caught.group(1)}").text
    assert "/apps/referrals/r/" in body and email in body


def test_the_demo_connects_mailchimp_and_imports_an_audience(bin_run):
    """Imports → Connect Mailchimp → Allow on the double's page → pick both demo audiences."""
    browser = requests.Session()
    started = browser.post(
        f"{bin_run.base}/mailchimp/connect",
        data={"id_token": bin_run.token()},
        allow_redirects=False,
        timeout=10,
    )
    assert started.status_code == 302, started.text[:500]
    allow_page = browser.get(started.headers["Location"], timeout=10)
    assert "Allow" in allow_page.text
    form = dict(re.findall(r'name="(\w+)" value="([^"]*)"', allow_page.text))
    form = {key: html.unescape(value) for key, value in form.items()}
    approved = browser.post(
        started.headers["Location"].split("?")[0],
        data={**form, "login": "demo", "decision": "allow"},
        allow_redirects=False,
        timeout=10,
    )
    landed = browser.get(approved.headers["Location"], timeout=10)
    assert "Newsletter" in landed.text and "VIP customers" in landed.text, landed.text[:500]
    read = browser.post(
        f"{bin_run.base}/mailchimp/fetches",
        data={
            "audiences": ["a1b2c3d4e5", "f6e7d8c9b0"],
            "segment_id": "new",
            "new_segment": "Mailchimp demo",
            "id_token": bin_run.token(),
        },
        allow_redirects=False,
        timeout=10,
    )
    assert read.status_code == 302, read.text[:500]
    fetch_path = read.headers["Location"].split("?")[0]
    wait_for(lambda: "Check the preview" in bin_run.get(fetch_path).text, timeout=60)
    import_id = re.search(r"/imports/(\d+)", bin_run.get(fetch_path).text).group(1)
    confirmed = requests.post(
        f"{bin_run.base}/imports/{import_id}/confirm",
        data={"apply_with_errors": "1", "id_token": bin_run.token()},
        allow_redirects=False,
        timeout=10,
    )
    assert confirmed.status_code == 302
    wait_for(lambda: 'data-import-status="done"' in bin_run.get(f"/imports/{import_id}").text, 60)
    with sqlite3.connect(bin_run.run_dir / "demo.sqlite3") as conn:
        members = conn.execute(
            "SELECT count(*) FROM segment_members JOIN segments ON segments.id = segment_id"
            " WHERE segments.name = 'Mailchimp demo'"
        ).fetchone()[0]
    assert members > 1000


@pytest.mark.slow
def test_kill_stops_every_process_bin_run_started(bin_run):
    """Last in this module: it stops the shared `bin/run`."""
    children = bin_run.children
    assert children and all(running(pid) for pid in children)
    bin_run.process.send_signal(signal.SIGTERM)  # `kill <pid of bin/run>`
    assert bin_run.process.wait(timeout=30) == 143
    wait_for(lambda: not any(running(pid) for pid in children), timeout=15)
    assert len(children) >= 5, children  # double, sink, worker (+ its scheduler), web server
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{bin_run.base}/auth/session-token", timeout=2)


def test_the_caught_emails_page_exists_only_in_demo_mode(admin):
    assert admin.get("/demo/mail").status_code == 404
    assert b"Caught emails" not in admin.get("/invitations").data
