"""Offline access tokens: obtain (code grant, token exchange), store encrypted, refresh once.

Shopify's offline tokens expire (1 h access, 90 d rotating refresh) for public apps, so a
token about to expire is refreshed under a per-shop row lock: concurrent workers refresh
once and the rotated refresh token is committed in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import requests
from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from shopify_app.platform.errors import ShopifyAPIError, ShopifyAuthError, ShopNotInstalled
from shopify_app.platform.extensions import db
from shopify_app.platform.models import Shop
from shopify_app.platform.models.base import utcnow
from shopify_app.platform.shopify.token_store import decrypt_token, encrypt_token

TOKEN_EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"
ID_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:id_token"
OFFLINE_TOKEN_TYPE = "urn:shopify:params:oauth:token-type:offline-access-token"
#: refresh this long before expiry, so a job never starts a call with a dying token.
REFRESH_MARGIN = timedelta(minutes=5)


@dataclass(frozen=True)
class TokenGrant:
    access_token: str
    scope: str
    expires_in: int | None = None
    refresh_token: str | None = None
    refresh_token_expires_in: int | None = None


def shop_base_url(shop_domain: str) -> str:
    return current_app.config["SHOPIFY_API_BASE"].replace("{shop}", shop_domain)


def _request_token(shop_domain: str, data: dict[str, str]) -> TokenGrant:
    config = current_app.config
    payload = {
        "client_id": config["SHOPIFY_API_KEY"],
        "client_secret": config["SHOPIFY_API_SECRET"],
        "expiring": "1",
        **data,
    }
    url = f"{shop_base_url(shop_domain)}/admin/oauth/access_token"
    try:
        response = requests.post(
            url,
            data=payload,
            headers={"Accept": "application/json"},
            timeout=config["HTTP_TIMEOUT"],
        )
    except requests.RequestException as error:
        raise ShopifyAPIError(f"token request to {shop_domain} failed: {error}") from error
    try:
        body: dict[str, Any] = response.json()
    except ValueError:
        body = {}
    if response.status_code != 200 or "access_token" not in body:
        code = body.get("error") if isinstance(body, dict) else None
        description = body.get("error_description", response.text[:200])
        raise ShopifyAuthError(
            f"Shopify refused the token request: {code or response.status_code} {description}",
            error_code=code,
        )
    return TokenGrant(
        access_token=body["access_token"],
        scope=body.get("scope", ""),
        expires_in=body.get("expires_in"),
        refresh_token=body.get("refresh_token"),
        refresh_token_expires_in=body.get("refresh_token_expires_in"),
    )


def exchange_code(shop_domain: str, code: str) -> TokenGrant:
    """OAuth authorization code grant, asking for an expiring offline token."""
    return _request_token(shop_domain, {"code": code})


def exchange_session_token(shop_domain: str, session_token: str) -> TokenGrant:
    """Token exchange (managed installation): an App Bridge session token for an offline token."""
    return _request_token(
        shop_domain,
        {
            "grant_type": TOKEN_EXCHANGE_GRANT,
            "subject_token": session_token,
            "subject_token_type": ID_TOKEN_TYPE,
            "requested_token_type": OFFLINE_TOKEN_TYPE,
        },
    )


def apply_grant(shop: Shop, grant: TokenGrant, now: datetime | None = None) -> None:
    """Store a grant on the shop, encrypted; the caller commits."""
    now = now or utcnow()
    shop.access_token_encrypted = encrypt_token(grant.access_token)
    shop.access_token_expires_at = (
        now + timedelta(seconds=grant.expires_in) if grant.expires_in else None
    )
    if grant.refresh_token:
        shop.refresh_token_encrypted = encrypt_token(grant.refresh_token)
        shop.refresh_token_expires_at = (
            now + timedelta(seconds=grant.refresh_token_expires_in)
            if grant.refresh_token_expires_in
            else None
        )
    else:
        shop.refresh_token_encrypted = None
        shop.refresh_token_expires_at = None
    if grant.scope:
        shop.scopes = grant.scope
    shop.uninstalled_at = None
    shop.installed_at = shop.installed_at or now


def _needs_refresh(shop: Shop, now: datetime) -> bool:
    return (
        shop.access_token_expires_at is not None
        and shop.access_token_expires_at - REFRESH_MARGIN <= now
    )


def refresh_tokens(shop_id: int, *, force: bool = False) -> str:
    """Refresh the shop's offline token under a row lock and commit at once.

    Uses its own session so the caller's unit of work is neither committed nor rolled back;
    a second worker waiting on the lock finds the fresh token and does not refresh again.
    """
    with Session(db.engine) as session, session.begin():
        shop = session.execute(
            select(Shop).where(Shop.id == shop_id).with_for_update()
        ).scalar_one()
        now = utcnow()
        if not force and not _needs_refresh(shop, now) and shop.access_token_encrypted:
            return decrypt_token(shop.access_token_encrypted) or ""
        refresh = (
            decrypt_token(shop.refresh_token_encrypted) if shop.refresh_token_encrypted else None
        )
        if not refresh:
            raise ShopNotInstalled(f"{shop.domain} has no refresh token; it must re-authenticate")
        grant = _request_token(
            shop.domain, {"grant_type": "refresh_token", "refresh_token": refresh}
        )
        apply_grant(shop, grant, now)
        token = grant.access_token
    db.session.expire_all()
    return token


def access_token_for(shop: Shop) -> str:
    """A usable plaintext access token for the shop, refreshed first if about to expire."""
    if not shop.access_token_encrypted or shop.uninstalled_at is not None:
        raise ShopNotInstalled(f"{shop.domain} is not installed")
    if _needs_refresh(shop, utcnow()):
        return refresh_tokens(shop.id)
    token = decrypt_token(shop.access_token_encrypted)
    if token is None:
        raise ShopNotInstalled(f"{shop.domain}'s token cannot be decrypted with this SECRET_KEY")
    return token
