"""The error pages: exceptions and outages turned into responses a merchant understands."""

from __future__ import annotations

import logging

from flask import Flask, g, render_template
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import InternalServerError

from shopify_app.platform.auth.guards import recognise_shop_session
from shopify_app.platform.errors import InvalidOAuthCallback, InvalidShopDomain, NotFound
from shopify_app.platform.extensions import db, is_database_unreachable
from shopify_app.platform.negotiation import wants_json

log = logging.getLogger(__name__)
DATABASE_UNREACHABLE = "We can't reach our database right now, try again in a minute."
NOT_FOUND = "We couldn't find this page. It may have been removed, or the link may be incomplete."
SERVER_ERROR = (
    "Something went wrong on our side and nothing was changed. Try again in a minute; "
    "if it keeps happening, contact us and we'll look into it."
)
#: seconds after which a client may retry a 503.
RETRY_AFTER_SECONDS = 60


def database_unreachable(error: Exception):
    """503, never a 500, while the database cannot be reached: nothing was stored, so the
    merchant (or App Bridge) should simply try again. Other database errors stay 500s."""
    if not is_database_unreachable(error):
        raise error
    cause = getattr(error, "orig", None) or error
    # The first line only: the rest is the SQL statement and its parameters (personal data).
    log.warning("database unreachable: %s: %s", type(cause).__name__, str(cause).split("\n")[0])
    # Loaded objects may be expired by the failed transaction: render without them.
    g.pop("shop", None)
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    if wants_json():
        return {"error": "database unavailable", "detail": DATABASE_UNREACHABLE}, 503, headers
    page = render_template(
        "errors/unavailable.html", title="Temporarily unavailable", message=DATABASE_UNREACHABLE
    )
    return page, 503, headers


def init_app(app: Flask) -> None:
    """Register the error pages."""
    app.register_error_handler(OperationalError, database_unreachable)
    app.register_error_handler(PoolTimeout, database_unreachable)

    @app.errorhandler(InvalidShopDomain)
    def _invalid_shop(error: InvalidShopDomain):
        return render_template("errors/error.html", title="Invalid shop", message=str(error)), 400

    @app.errorhandler(InvalidOAuthCallback)
    def _invalid_callback(error: InvalidOAuthCallback):
        return (
            render_template("errors/error.html", title="Installation failed", message=str(error)),
            400,
        )

    @app.errorhandler(NotFound)
    @app.errorhandler(404)
    def _not_found(error: Exception):
        if wants_json():
            return {"error": "not found"}, 404
        recognise_shop_session()
        page = render_template("errors/error.html", title="Page not found", message=NOT_FOUND)
        return page, 404

    @app.errorhandler(InternalServerError)
    def _server_error(error: InternalServerError):
        # Flask has logged the exception with its traceback; the merchant gets none of it.
        db.session.rollback()
        if wants_json():
            return {"error": "internal error", "detail": SERVER_ERROR}, 500
        try:
            recognise_shop_session()
            page = render_template(
                "errors/error.html", title="Something went wrong", message=SERVER_ERROR
            )
        except Exception:  # the page itself failed (the database, say): a page without the shop
            log.exception("the error page could not be rendered with the shop")
            db.session.rollback()
            g.pop("shop", None)
            g.pop("session_token", None)
            page = render_template(
                "errors/error.html", title="Something went wrong", message=SERVER_ERROR
            )
        return page, 500
