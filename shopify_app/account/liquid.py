"""Pages Shopify renders as Liquid: every value printed with its braces as HTML entities.

An app proxy answer of type `application/liquid` is rendered by Shopify inside the theme, so a
customer named `{{ customer.email }}` or a description holding `{% render 'x' %}` would run as
Liquid if printed as is; HTML escaping leaves braces alone. The `.liquid` templates are
rendered by an environment whose `finalize` escapes each printed value for HTML and then
turns `{` and `}` into `&#123;` and `&#125;`, so no value can forget it (Markup included).
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, current_app
from jinja2 import Environment
from markupsafe import Markup, escape

LIQUID_MIMETYPE = "application/liquid"
_BRACES = str.maketrans({"{": "&#123;", "}": "&#125;"})


def liquid_text(value: Any) -> Markup:
    """The value as HTML text that Liquid prints as is: escaped, with its braces as entities."""
    if value is None:
        return Markup("")
    return Markup(str(escape(value)).translate(_BRACES))


def render_liquid(template: str, status: int = 200, **context: Any) -> Response:
    """Render a `.liquid` template for the storefront, as `application/liquid`."""
    environment: Environment = current_app.extensions["liquid_jinja"]
    body = environment.get_template(template).render(**context)
    return Response(body, status=status, mimetype=LIQUID_MIMETYPE)


def init_app(app: Flask) -> None:
    # Its own template cache: a template compiled without `finalize` is never reused here.
    app.extensions["liquid_jinja"] = app.jinja_env.overlay(
        autoescape=True, finalize=liquid_text, cache_size=50
    )
