"""Demo-only tools that `bin/run` starts beside the app; the runtime package never imports them.

`app.py` (an entry point) adds them: the `flask demo` command, and in DEMO_MODE the page of
the emails the local mail sink caught.
"""

from __future__ import annotations

from flask import Flask

from demo import cli, mail, storefront


def init_app(app: Flask) -> None:
    app.cli.add_command(cli.demo)
    if app.config["DEMO_MODE"]:
        app.register_blueprint(mail.bp)  # the demo's caught emails; no such page otherwise
        app.register_blueprint(storefront.bp)  # the storefront and app proxy Shopify would be
