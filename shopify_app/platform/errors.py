"""Exceptions named for the failure; `error_pages` turns them into responses."""

from __future__ import annotations


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
