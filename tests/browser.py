"""Headless Chromium (Debian's) for page checks: screenshots and console errors."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--hide-scrollbars",
]
CONSOLE_ERROR = re.compile(r"(Uncaught|CONSOLE\(\d+\).*error|:ERROR:CONSOLE)", re.IGNORECASE)


@dataclass
class PageCapture:
    dom: str
    console_errors: list[str]
    screenshot: Path | None


def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        raise RuntimeError("Debian's chromium is required: apt-get install chromium")
    return path


def capture(
    url: str, screenshot: Path | None = None, *, size: str = "1280,1000", budget_ms: int = 4000
) -> PageCapture:
    """Load the page, wait for scripts, return its DOM, console errors and a screenshot."""
    with tempfile.TemporaryDirectory() as profile:
        base = [
            chromium_path(),
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            f"--window-size={size}",
            f"--virtual-time-budget={budget_ms}",
            "--enable-logging=stderr",
            "--v=0",
        ]
        dom = subprocess.run([*base, "--dump-dom", url], capture_output=True, text=True, timeout=90)
        if screenshot is not None:
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            subprocess.run(
                [*base, f"--screenshot={screenshot}", url],
                capture_output=True,
                text=True,
                timeout=90,
                check=True,
            )
    errors = [line for line in dom.stderr.splitlines() if CONSOLE_ERROR.search(line)]
    return PageCapture(dom=dom.stdout, console_errors=errors, screenshot=screenshot)
