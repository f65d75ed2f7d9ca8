"""Loyalty points: the ledger, earning, rewards and redeeming, expiry and the balance metafield."""

from __future__ import annotations

from flask import Flask

from shopify_app.loyalty.expiry_jobs import sweep_expiry
from shopify_app.loyalty.jobs import sweep_redemptions
from shopify_app.loyalty.metafield_jobs import sweep_metafields
from shopify_app.platform.sweeps import on_sweep


def init_app(app: Flask) -> None:
    """The sweeper finishes redemptions a lost job left pending, sends balances left unsent and
    keeps the daily expiry scheduled."""
    on_sweep(app, sweep_redemptions)
    on_sweep(app, sweep_metafields)
    on_sweep(app, sweep_expiry)
