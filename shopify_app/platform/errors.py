"""Exceptions named for the failure, and the handlers that turn them into responses."""

from __future__ import annotations

import logging

from flask import Flask, g, render_template, request
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

log = logging.getLogger(__name__)
DATABASE_UNREACHABLE = "We can't reach our database right now, try again in a minute."
#: seconds after which a client may retry a 503.
RETRY_AFTER_SECONDS = 60


class AppError(Exception):
    """Base for failures this app raises on purpose."""


class SettingsError(AppError):
    """A setting is missing or malformed; raised at start-up."""


class InvalidShopDomain(AppError):
    """A shop parameter is not a plain `*.myshopify.com` domain."""


class InvalidSessionToken(AppError):
    """An App Bridge session token is missing, forged, expired or for another shop."""


class ShopMismatch(InvalidSessionToken):
    """A `?shop=` names another shop than the session token; a bounce would only loop."""


class ShopNotInstalled(AppError):
    """The shop has no usable offline token and cannot get one here."""


class InvalidOAuthCallback(AppError):
    """An OAuth callback failed its HMAC, state, timestamp or shop check."""


class ShopifyAPIError(AppError):
    """Shopify answered an Admin API call with an error we cannot retry away."""


class ShopifyAuthError(ShopifyAPIError):
    """Shopify refused our credentials (401, invalid_client, invalid_subject_token)."""

    def __init__(self, message: str, error_code: str | None = None) -> None:
        super().__init__(message)
        self.error_code = error_code


class DeliveryRefused(AppError):
    """A webhook delivery contradicts itself (its payload names another shop than its header):
    it is recorded as failed and never applied, since no retry can change that."""


class ImportFileError(AppError):
    """An uploaded CSV cannot be imported at all (not a CSV, empty, missing column …)."""


class NotFound(AppError):
    """A row does not exist for this shop (another shop's row is not found either)."""


def wants_json() -> bool:
    """True for fetch/XHR calls, which get JSON errors instead of pages."""
    if request.headers.get("Authorization"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def database_unreachable(error: Exception):
    """503, never a 500, while the database cannot be reached: nothing was stored, so the
    merchant (or App Bridge) should simply try again."""
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
        return render_template(
            "errors/error.html", title="Not found", message="This page does not exist."
        ), 404
