"""`flask --app app demo`: install the demo shop, wait for its sync, seed referrals, imports and
loyalty."""

from __future__ import annotations

import click

from demo.loyalty import seed_demo_loyalty
from demo.referrals import seed_demo_referrals
from demo.shop import prepare_demo_shop, wait_for_sync
from shopify_app.imports.samples import seed_demo_imports
from shopify_app.platform.auth.demo_tokens import demo_home_url
from shopify_app.platform.extensions import db


@click.command("demo")
@click.option("--customers", default=3000, show_default=True, help="customers to seed")
@click.option("--base-url", default="http://127.0.0.1:5000", show_default=True)
@click.option(
    "--sync-timeout", default=600.0, show_default=True, help="seconds to wait for the worker's sync"
)
def demo(customers: int, base_url: str, sync_timeout: float) -> None:
    """Seed the demo shop (idempotent) and print the URL that opens it."""
    shop, source = prepare_demo_shop(customers)
    db.session.commit()
    click.echo(f"demo shop {shop.domain}: customers {source}")
    if shop.sync_status != "done":
        click.echo(f"demo shop {shop.domain}: {wait_for_sync(shop, sync_timeout)}")
    click.echo(seed_demo_referrals(shop))
    click.echo(seed_demo_imports(shop))
    click.echo(seed_demo_loyalty(shop))
    db.session.commit()
    click.echo(f"open {demo_home_url(base_url)}")
