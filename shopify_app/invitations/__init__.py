"""Invitations: the invite dialog, batches, sending, unsubscribe and targeting a segment."""

from __future__ import annotations

from flask import Flask

from shopify_app.invitations.jobs import sweep_audiences, sweep_invitations
from shopify_app.platform.sweeps import on_sweep


def init_app(app: Flask) -> None:
    on_sweep(app, sweep_invitations)
    on_sweep(app, sweep_audiences)
