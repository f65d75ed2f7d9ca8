"""The demo as `bin/run` starts it (SQLite, the demo shop, its mail sink, `flask run`)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import requests

from demo.mail_sink import serve
from tests.ports import free_port

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class DemoServer:
    base: str
    #: the demo home page URL `flask demo` prints (it opens without Shopify).
    home: str
    tmp: Path


@contextlib.contextmanager
def running_demo(
    tmp: Path, *, env: dict[str, str] | None = None, worker: bool = False
) -> Iterator[DemoServer]:
    """`flask init-db`, `flask demo`, then `flask run` (and `flask worker`) until exit."""
    base = f"http://127.0.0.1:{free_port()}"
    smtp_port = free_port()
    sink = serve(tmp / "mail", port=smtp_port)
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp / 'demo.sqlite3'}",
        "DEMO_MODE": "1",
        "SHOPIFY_APP_URL": base,
        "IMPORT_DIR": str(tmp / "imports"),
        "EXPORT_DIR": str(tmp / "exports"),
        "SMTP_URL": f"smtp://127.0.0.1:{smtp_port}",
        "DEMO_MAIL_DIR": str(tmp / "mail"),
        **(env or {}),
    }
    flask = [sys.executable, "-m", "flask", "--app", "app"]
    processes: list[subprocess.Popen] = []

    def start(*command: str) -> None:
        processes.append(
            subprocess.Popen(
                [*flask, *command],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        )

    try:
        subprocess.run([*flask, "init-db"], cwd=ROOT, env=env, check=True, capture_output=True)
        if worker:
            start("worker")  # before the demo, as in bin/run: a queued sync is its first job
        seeded = subprocess.run(
            [*flask, "demo", "--customers", "300", "--base-url", base],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        home = next(
            line.split(" ", 1)[1] for line in seeded.stdout.splitlines() if line.startswith("open ")
        )
        start("run", "--host", "127.0.0.1", "--port", base.rsplit(":", 1)[1])
        for _ in range(100):
            try:
                requests.get(f"{base}/auth/session-token", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        yield DemoServer(base, home, tmp)
    finally:
        for process in processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=20)
        sink.stop()
