"""The README's run path on its embedded default: SQLite, demo shop, pages in Chromium."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.browser import capture

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory):
    """`flask init-db`, `flask demo` and `flask run` on SQLite, as bin/run does."""
    tmp = tmp_path_factory.mktemp("quickstart")
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp / 'demo.sqlite3'}",
        "DEMO_MODE": "1",
        "RQ_ASYNC": "0",
        # No Shopify double here: the demo seeds its customers locally.
        "SHOPIFY_API_BASE": "http://127.0.0.1:9/{shop}",
        "SHOPIFY_APP_URL": f"http://127.0.0.1:{port}",
        "IMPORT_DIR": str(tmp / "imports"),
        "EXPORT_DIR": str(tmp / "exports"),
    }
    flask = [sys.executable, "-m", "flask", "--app", "app"]
    subprocess.run([*flask, "init-db"], cwd=ROOT, env=env, check=True, capture_output=True)
    seeded = subprocess.run(
        [*flask, "demo", "--customers", "300", "--base-url", env["SHOPIFY_APP_URL"]],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    url = next(
        line.split(" ", 1)[1] for line in seeded.stdout.splitlines() if line.startswith("open ")
    )
    server = subprocess.Popen(
        [*flask, "run", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            requests.get(f"http://127.0.0.1:{port}/auth/session-token", timeout=1)
            break
        except requests.ConnectionError:
            time.sleep(0.1)
    yield url
    server.terminate()
    server.wait(timeout=10)


def test_demo_url_opens_the_home_page_without_shopify(demo_server):
    response = requests.get(demo_server, timeout=10)
    assert response.status_code == 200
    assert "Demo Referrals Store" in response.text
    assert "Members" in response.text and "Guests" in response.text


def test_demo_home_renders_in_chromium(demo_server, artifacts):
    page = capture(demo_server, artifacts / "demo-home.png")
    assert "Demo Referrals Store" in page.dom
    assert page.console_errors == []
    assert page.screenshot.stat().st_size > 10_000


def test_demo_tokens_are_refused_when_demo_mode_is_off(app, client):
    from shopify_app.demo import DEMO_SHOP

    response = client.get(f"/?shop={DEMO_SHOP}&embedded=1")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/session-token")
