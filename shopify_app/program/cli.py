"""`flask --app app program show|set`: the Program page's settings in a terminal.

`set` fills the page's own form with the stored values and the given keys, so a value the page
would refuse is refused here too, with the page's message, and nothing is saved.
"""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from shopify_app.platform.auth.shop_domain import normalize_shop_domain
from shopify_app.platform.errors import InvalidShopDomain
from shopify_app.platform.extensions import db
from shopify_app.platform.models import Shop
from shopify_app.platform.shops import get_shop
from shopify_app.program.config import apply_settings, get_settings
from shopify_app.program.forms import SettingsForm, settings_formdata, stored_values

#: fields whose text spans lines: printed with `\n`, and read back the same way.
MULTILINE = ("body_", "event_points")

program_cli = AppGroup("program", help="Show or change the program's settings.")


def init_app(app: Flask) -> None:
    app.cli.add_command(program_cli)


def _shop(domain: str) -> Shop:
    try:
        shop = get_shop(normalize_shop_domain(domain))
    except InvalidShopDomain as error:
        raise click.BadParameter(str(error), param_hint="--shop") from error
    if shop is None:
        raise click.BadParameter(f"no installed shop {domain}", param_hint="--shop")
    return shop


def _stored(shop: Shop) -> dict[str, str]:
    return settings_formdata(stored_values(shop, get_settings(shop)))


def _multiline(key: str) -> bool:
    return key.startswith(MULTILINE)


def escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n")


def unescape(value: str) -> str:
    """`\\n` is a new line and `\\\\` a backslash; anything else stays as typed."""
    out, chars = [], iter(value)
    for char in chars:
        if char == "\\":
            following = next(chars, "")
            out.append({"n": "\n", "\\": "\\"}.get(following, char + following))
        else:
            out.append(char)
    return "".join(out)


@program_cli.command("show")
@click.option("--shop", "domain", required=True, help="The shop's myshopify.com domain.")
def show(domain: str) -> None:
    """Print every setting as key=value, named as `program set` takes them."""
    for key, value in _stored(_shop(domain)).items():
        click.echo(f"{key}={escape(value) if _multiline(key) else value}")


@program_cli.command("set")
@click.option("--shop", "domain", required=True, help="The shop's myshopify.com domain.")
@click.argument("assignments", nargs=-1, required=True, metavar="KEY=VALUE…")
def set_settings(domain: str, assignments: tuple[str, ...]) -> None:
    """Change settings, e.g. `earn_orders=on earn_per_unit=2 expiry_months=12`, validated as
    the Program page validates them; nothing is saved unless every value is valid."""
    shop = _shop(domain)
    stored = _stored(shop)
    given: dict[str, str] = {}
    for assignment in assignments:
        key, sep, value = assignment.partition("=")
        key = key.strip()
        if not sep or not key:
            raise click.UsageError(f"{assignment!r} is not KEY=VALUE")
        if key not in stored:
            raise click.UsageError(
                f"unknown setting {key!r}; the settings are: {', '.join(stored)}"
            )
        given[key] = unescape(value) if _multiline(key) else value
    form = SettingsForm({**stored, **given}, currency=shop.currency)
    if not form.validate():
        for key, message in form.field_errors().items():
            click.echo(f"{key}: {message}", err=True)
        raise click.ClickException("nothing was saved")
    apply_settings(shop, form.changes())
    db.session.commit()
    after = _stored(shop)
    for key in given:
        shown = escape(after[key]) if _multiline(key) else after[key]
        click.echo(f"{key}={shown}")
