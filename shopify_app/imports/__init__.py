"""Imports: CSV upload, preview, the job that applies it, and its revert."""

from __future__ import annotations

from flask import Flask

from shopify_app.imports.jobs import sweep_imports
from shopify_app.platform.sweeps import on_sweep


def init_app(app: Flask) -> None:
    on_sweep(app, sweep_imports)
