"""Exceptions named for the failure, and the handlers that turn them into responses."""

from __future__ import annotations

from flask import Flask, render_template, request


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


def init_app(app: Flask) -> None:
    """Register the error pages."""

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
