"""Customers: the table, detail, add form, export and the sync from Shopify."""

from __future__ import annotations

from flask import Flask

from shopify_app.customers.sync_jobs import queue_initial_sync
from shopify_app.platform.shops import on_installed


def init_app(app: Flask) -> None:
    on_installed(app, queue_initial_sync)
