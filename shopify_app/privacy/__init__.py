"""Privacy: compliance requests, erasure and file retention."""

from __future__ import annotations

from flask import Flask

from shopify_app.platform.sweeps import on_sweep
from shopify_app.privacy.jobs import purge_files


def init_app(app: Flask) -> None:
    on_sweep(app, purge_files)
