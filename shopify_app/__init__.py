"""Application factory: reads as the table of contents of the app.

Imported only by entry points (`app.py`, the worker's bootstrap, tests): no job or service
builds the app.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

import webhooks
from shopify_app import cli, customers, imports, invitations, loyalty, mailchimp, privacy, referrals
from shopify_app.account import liquid
from shopify_app.account import views as account_views
from shopify_app.customers import segment_views
from shopify_app.customers import views as customers_views
from shopify_app.home import views as home_views
from shopify_app.imports import views as imports_views
from shopify_app.integrations import klaviyo
from shopify_app.invitations import audience, unsubscribe
from shopify_app.invitations import views as invitations_views
from shopify_app.loyalty import views as loyalty_views
from shopify_app.mailchimp import views as mailchimp_views
from shopify_app.metrics import views as metrics_views
from shopify_app.platform import (
    error_pages,
    extensions,
    log_redaction,
    request_limits,
    templating,
    tenancy,
)
from shopify_app.platform.auth import guards
from shopify_app.platform.auth import proxy as proxy_guard
from shopify_app.platform.auth import views as auth_views
from shopify_app.platform.settings import PROJECT_ROOT, load_settings
from shopify_app.program import klaviyo_views
from shopify_app.program import views as program_views
from shopify_app.referrals import proxy


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app; `config` overrides settings read from the environment."""
    app = Flask(
        __name__,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
        instance_path=str(PROJECT_ROOT / "instance"),
    )
    app.config.update(load_settings(overrides=config))
    app.config.setdefault("MIGRATIONS_DIR", PROJECT_ROOT / "migrations")
    # The embedded SQLite default and uploads live under instance/ (as in flaskr).
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    log_redaction.init_app(app)  # before the dev server logs a request line
    extensions.init_app(app)
    error_pages.init_app(app)
    request_limits.init_app(app)  # 413 before any guard or view reads a body
    guards.init_app(app)
    tenancy.init_app(app)  # a request's shop scope ends with the request
    proxy_guard.init_app(app)  # a forged app proxy request gets the storefront's page
    templating.init_app(app)
    liquid.init_app(app)  # the storefront's Liquid pages print every value Liquid-safe
    cli.init_app(app)
    # Capabilities register what follows an install and their sweeps (see platform.sweeps).
    customers.init_app(app)  # the initial sync follows an install
    imports.init_app(app)
    referrals.init_app(app)
    invitations.init_app(app)
    loyalty.init_app(app)  # balances to the metafield, the daily expiry run
    klaviyo.init_app(app)  # enrolments and balances to Klaviyo
    mailchimp.init_app(app)  # interrupted audience reads resume; the Imports page's card

    for blueprint in (
        auth_views.bp,
        home_views.bp,
        customers_views.bp,
        segment_views.bp,
        metrics_views.bp,
        imports_views.bp,
        mailchimp_views.bp,
        program_views.bp,
        klaviyo_views.bp,
        loyalty_views.bp,
        invitations_views.bp,
        audience.bp,
        proxy.bp,
        account_views.bp,
        unsubscribe.bp,
    ):
        app.register_blueprint(blueprint)
    webhooks.init_app(app)  # POST /webhooks, answered in front of Flask
    privacy.init_app(app)  # file retention: the slowest sweep (it may walk folders), last
    return app
