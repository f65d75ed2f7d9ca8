"""Application factory: reads as the table of contents of the app."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from shopify_app.admin import demo_mail
from shopify_app.platform import log_redaction, request_limits
from shopify_app.platform.settings import PROJECT_ROOT, load_settings


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

    from shopify_app import cli
    from shopify_app.platform import errors, extensions, templating
    from shopify_app.platform.auth import guards

    log_redaction.init_app(app)  # before the dev server logs a request line
    extensions.init_app(app)
    errors.init_app(app)
    request_limits.init_app(app)  # 413 before any guard or view reads a body
    guards.init_app(app)
    templating.init_app(app)
    cli.init_app(app)

    from shopify_app.admin import customers, home, metrics
    from shopify_app.platform.auth import views as auth_views

    app.register_blueprint(auth_views.bp)
    app.register_blueprint(home.bp)
    app.register_blueprint(customers.bp)
    app.register_blueprint(metrics.bp)
    from shopify_app.admin import imports as imports_admin

    app.register_blueprint(imports_admin.bp)
    from shopify_app import proxy
    from shopify_app.admin import invitations as invitations_admin
    from shopify_app.admin import program as program_admin

    app.register_blueprint(program_admin.bp)
    app.register_blueprint(invitations_admin.bp)
    app.register_blueprint(proxy.bp)
    if app.config["DEMO_MODE"]:
        app.register_blueprint(demo_mail.bp)  # the demo's caught emails; no such page otherwise
    import webhooks

    webhooks.init_app(app)  # POST /webhooks, answered in front of Flask
    return app
