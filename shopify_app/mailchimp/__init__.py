"""Mailchimp audiences in: connect an account, read audiences into a contacts import."""

from __future__ import annotations

from flask import Flask, current_app, g, has_request_context, request

from shopify_app.mailchimp import pages
from shopify_app.mailchimp.jobs import sweep_fetches
from shopify_app.platform.sweeps import on_sweep


def init_app(app: Flask) -> None:
    """Resume interrupted reads; give the Imports page its Mailchimp card."""
    on_sweep(app, sweep_fetches)

    @app.context_processor
    def _mailchimp_card() -> dict:
        # Templates render outside requests too (emails from jobs): no card there.
        if not has_request_context() or request.endpoint != "imports.index":
            return {}
        if getattr(g, "shop", None) is None:
            return {}
        return {"mailchimp": pages.card(g.shop, current_app.config)}
