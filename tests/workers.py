"""Real RQ worker processes (`flask --app app worker`) that a test can SIGKILL."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from flask import Flask

ROOT = Path(__file__).resolve().parent.parent
PASSED_SETTINGS = (
    "DATABASE_URL",
    "REDIS_URL",
    "SHOPIFY_API_KEY",
    "SHOPIFY_API_SECRET",
    "SHOPIFY_API_BASE",
    "SHOPIFY_APP_URL",
    "SECRET_KEY",
    "SMTP_URL",
    "IMPORT_DIR",
    "EXPORT_DIR",
    "KLAVIYO_API_BASE",
    "MAILCHIMP_CLIENT_ID",
    "MAILCHIMP_CLIENT_SECRET",
    "MAILCHIMP_OAUTH_BASE",
    "MAILCHIMP_API_BASE",
)


def worker_env(app: Flask, **overrides: str) -> dict[str, str]:
    """The environment that gives a worker process the same settings as the test app."""
    env = {**os.environ}
    for key in PASSED_SETTINGS:
        env[key] = str(app.config[key])
    env["PYTHONUNBUFFERED"] = "1"
    env.update(overrides)
    return env


class WorkerProcess:
    """`flask --app app worker` in a subprocess, with the sweeper thread it always runs."""

    def __init__(self, app: Flask, *args: str, **env: str) -> None:
        self.log = tempfile.TemporaryFile("w+")
        # Its own process group: the worker forks RQ's scheduler, and a machine that dies
        # takes both.
        self.process = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "app", "worker", *args],
            cwd=ROOT,
            env=worker_env(app, **env),
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def _signal_group(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signum)

    def kill(self) -> None:
        """SIGKILL the worker and its scheduler: no cleanup, nothing marked failed."""
        self._signal_group(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> str:
        """Stop the worker (warm shutdown, then SIGKILL) and return what it printed."""
        if self.process.poll() is None:
            self._signal_group(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=10)
        self._signal_group(signal.SIGKILL)
        self.process.wait(timeout=10)
        self.log.seek(0)
        output = self.log.read()
        self.log.close()
        return output


class WorkerPool:
    """Workers a test starts; all stopped at teardown even when the test fails."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.workers: list[WorkerProcess] = []

    def start(self, *args: str, **env: str) -> WorkerProcess:
        worker = WorkerProcess(self.app, *args, **env)
        self.workers.append(worker)
        return worker

    def stop_all(self) -> None:
        """Stop every worker; their output is printed, so a failing test shows it."""
        for n, worker in enumerate(self.workers):
            print(f"--- worker {n} output ---\n{worker.stop()}")


def wait_for(condition: Callable[[], bool], timeout: float = 60, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")
