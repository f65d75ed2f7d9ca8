"""Klaviyo: enrolled customers' referral link, code and balance as profile properties, and a
"Joined Referral Program" event per enrolment, so a Klaviyo flow can send the invitation.

Public functions: `connection` (connect, status, who sends invitations, forget),
`runs.request_sync` and `erasure.forget_customer` (customers/redact: the profile sent is
deleted in Klaviyo). Sits just above the platform, so the Program page, invitations and
privacy can use it.
"""

from __future__ import annotations

from flask import Flask

from shopify_app.integrations.klaviyo.jobs import sweep_klaviyo
from shopify_app.platform.sweeps import on_sweep


def init_app(app: Flask) -> None:
    on_sweep(app, sweep_klaviyo)
