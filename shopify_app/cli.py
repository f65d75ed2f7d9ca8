"""`flask --app app …` commands: schema and the CLI imports (`app.py` adds worker and demo)."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask_migrate import upgrade

from shopify_app.imports import cli as imports_cli


def init_app(app: Flask) -> None:
    app.cli.add_command(init_db)
    imports_cli.init_app(app)


@click.command("init-db")
def init_db() -> None:
    """Create or upgrade the schema through the Alembic migrations."""
    upgrade(directory=str(current_app.config["MIGRATIONS_DIR"]), revision="heads")
    click.echo("database schema is up to date")
