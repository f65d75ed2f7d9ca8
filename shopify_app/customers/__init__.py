"""Customers: the table, detail, add form, export and the sync from Shopify."""

from __future__ import annotations

from flask import Flask

from shopify_app.customers.export_jobs import sweep_exports
from shopify_app.customers.sync_jobs import queue_initial_sync, sweep_syncs
from shopify_app.platform.shops import on_installed
from shopify_app.platform.sweeps import on_sweep


def init_app(app: Flask) -> None:
    on_installed(app, queue_initial_sync)
    on_sweep(app, sweep_exports)
    on_sweep(app, sweep_syncs)
