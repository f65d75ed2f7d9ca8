"""Session tokens never appear in logs: the dev server's request log and gunicorn's access log.

Real requests through real servers: the tests' live server (werkzeug, as `flask run`), and
gunicorn started with the Procfile's own `web` command.
"""

from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
import requests

from tests.conftest import DATABASE_URL, REDIS_URL
from tests.helpers import API_KEY, API_SECRET
from tests.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
#: gunicorn's default access log format (what the Procfile writes), plus the query string, the
#: referrer and the credential headers someone might add to it.
ACCESS_FORMAT = (
    '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" '
    "q=%(q)s ref=%({referer}i)s auth=%({authorization}i)s env_auth=%({http_authorization}e)s"
)


def _requests_with_tokens(base: str, shop: str, token: str) -> None:
    """A document load, a fetch, and the bounce page's encoded reload target, as the admin
    sends them; the referrer repeats the admin's URL with its token."""
    referer = f"https://admin.shopify.com/store/x/apps/y?shop={shop}&id_token={token}"
    headers = {"Referer": referer}
    requests.get(f"{base}/?shop={shop}&embedded=1&id_token={token}", headers=headers, timeout=10)
    requests.get(
        f"{base}/customers",
        headers={**headers, "Authorization": f"Bearer {token}", "Accept": "application/json"},
        timeout=10,
    )
    reload = quote(f"/customers?shop={shop}&id_token={token}", safe="")
    requests.get(f"{base}/static/app.css?shopify-reload={reload}", headers=headers, timeout=10)


def test_dev_server_request_log_has_no_session_token(live_server, shop, shopify_double, caplog):
    caplog.set_level(logging.INFO, logger="werkzeug")
    token = shopify_double.session_token(shop.domain)
    _requests_with_tokens(live_server.url, shop.domain, token)
    signature = token.rsplit(".", 1)[1]
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:  # the server thread logs after it has answered
        lines = [r.getMessage() for r in caplog.records if r.name == "werkzeug"]
        if sum("/static/app.css" in line for line in lines) >= 1 and len(lines) >= 3:
            break
        time.sleep(0.05)
    assert any("id_token=[redacted]" in line for line in lines), lines
    assert any("id_token%3D[redacted]" in line for line in lines), lines
    for line in lines:
        assert signature not in line and token not in line


def _procfile_web() -> str:
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith("web:"):
            return line.removeprefix("web:").strip()
    raise AssertionError("the Procfile has no web process")


@pytest.fixture
def gunicorn_access_log(shop):
    """Start the Procfile's `web` (one worker); yields (base URL, a function reading its log)."""
    port = free_port()
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "PORT": str(port),
        "WEB_CONCURRENCY": "1",
        "DATABASE_URL": DATABASE_URL,
        "REDIS_URL": REDIS_URL,
        "SHOPIFY_API_KEY": API_KEY,
        "SHOPIFY_API_SECRET": API_SECRET,
        "PYTHONUNBUFFERED": "1",
    }
    command = f"exec {_procfile_web()} --access-logformat '{ACCESS_FORMAT}'"
    log_path = ROOT / "instance" / f"test-access-{port}.log"
    log_path.parent.mkdir(exist_ok=True)
    with open(log_path, "wb") as log_file:
        server = subprocess.Popen(
            ["bash", "-c", command],
            cwd=ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20  # two cores shared: the app's import may be slow
        while True:
            try:
                requests.get(f"{base}/static/app.css", timeout=5)
                break
            except requests.RequestException as error:
                if time.monotonic() > deadline:
                    log = log_path.read_text()
                    raise AssertionError(f"gunicorn did not start: {log}") from error
                time.sleep(0.1)
        yield base, log_path.read_text
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=10)
        log_path.unlink(missing_ok=True)


def test_gunicorn_access_log_has_no_session_token(gunicorn_access_log, shop, shopify_double):
    base, read_log = gunicorn_access_log
    token = shopify_double.session_token(shop.domain)
    _requests_with_tokens(base, shop.domain, token)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and read_log().count("shopify-reload") < 1:
        time.sleep(0.05)
    log = read_log()
    access = [line for line in log.splitlines() if re.search(r'"GET /(\?|customers|static)', line)]
    assert len(access) >= 4, log  # the readiness probe, then the three requests
    assert "id_token=[redacted]" in log and "id_token%3D[redacted]" in log
    assert token not in log and token.rsplit(".", 1)[1] not in log
    fetch = next(line for line in access if '"GET /customers' in line)
    assert "auth=- env_auth=-" in fetch  # credential headers are never written
