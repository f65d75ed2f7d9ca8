"""`flask --app app …` commands: schema, the CLI imports and the program's settings (`app.py`
adds worker and demo)."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask_migrate import upgrade

from shopify_app.imports import cli as imports_cli
from shopify_app.mailchimp import cli as mailchimp_cli
from shopify_app.program import cli as program_cli


def init_app(app: Flask) -> None:
    app.cli.add_command(init_db)
    imports_cli.init_app(app)
    mailchimp_cli.init_app(app)
    program_cli.init_app(app)


@click.command("init-db")
def init_db() -> None:
    """Create or upgrade the schema through the Alembic migrations."""
    upgrade(directory=str(current_app.config["MIGRATIONS_DIR"]), revision="heads")
    click.echo("database schema is up to date")
