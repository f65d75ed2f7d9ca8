"""Template helpers: links and forms that carry the embedded session through the iframe."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Flask, g, render_template, request, url_for
from markupsafe import Markup, escape

from shopify_app.platform.money import currency_symbol, format_money
from shopify_app.platform.shops import shop_zone


def admin_url(endpoint: str, **values: Any) -> str:
    """url_for plus the shop, host and current session token, so links stay authenticated."""
    shop = getattr(g, "shop", None)
    if shop is not None:
        values.setdefault("shop", shop.domain)
    host = request.args.get("host")
    if host:
        values.setdefault("host", host)
    token = getattr(g, "session_token", None)
    if token is not None:
        values.setdefault("id_token", token.raw)
    return url_for(endpoint, **values)


def session_fields() -> Markup:
    """Hidden inputs for POST forms: the session token doubles as the CSRF token."""
    token = getattr(g, "session_token", None)
    if token is None:
        return Markup("")
    return Markup('<input type="hidden" name="id_token" value="{}">').format(escape(token.raw))


def query_fields() -> Markup:
    """Hidden inputs for GET forms: a browser drops the action's query, so the session and the
    shop and host that `admin_url` would carry travel as fields instead."""
    fields = {"shop": getattr(getattr(g, "shop", None), "domain", None)}
    fields["host"] = request.args.get("host")
    token = getattr(g, "session_token", None)
    fields["id_token"] = token.raw if token is not None else None
    return Markup("").join(
        Markup('<input type="hidden" name="{}" value="{}">').format(name, escape(value))
        for name, value in fields.items()
        if value
    )


def shop_time(value: datetime | None) -> str:
    """A stored (naive UTC) time as the merchant reads it: in the shop's own time zone."""
    if value is None:
        return "—"
    local = value.replace(tzinfo=UTC).astimezone(shop_zone(getattr(g, "shop", None)))
    return f"{local:%b} {local.day}, {local:%Y}, {local:%H:%M} {local.tzname()}"


def _styleguide() -> str:
    return render_template("styleguide.html")


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(
        admin_url=admin_url,
        session_fields=session_fields,
        query_fields=query_fields,
        view_functions=app.view_functions,
    )
    app.jinja_env.filters["money"] = format_money
    app.jinja_env.filters["currency_symbol"] = currency_symbol
    app.jinja_env.filters["shop_time"] = shop_time
    # Plurals ("1 existing contact", "2 existing contacts") through Jinja's own i18n
    # extension; null translations until the app ships catalogues.
    app.jinja_env.add_extension("jinja2.ext.i18n")
    app.jinja_env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]

    if app.config["APP_ENV"] == "development":
        # The components on one page, for whoever restyles them; never served in production.
        app.add_url_rule("/styleguide", "styleguide", _styleguide)

    @app.after_request
    def _referrer_policy(response):
        # Links carry short-lived session tokens; never leak them to other origins.
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response
