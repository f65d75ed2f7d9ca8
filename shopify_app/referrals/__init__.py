"""Referrals: the engine, referral links, the storefront landing and reward codes."""

from __future__ import annotations

from flask import Flask

from shopify_app.platform.sweeps import on_sweep
from shopify_app.referrals.jobs import sweep_rewards


def init_app(app: Flask) -> None:
    on_sweep(app, sweep_rewards)
