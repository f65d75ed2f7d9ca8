"""Verify App Bridge session tokens: the identity of every embedded admin request."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import jwt

from shopify_app.auth.shop_domain import normalize_shop_domain
from shopify_app.errors import InvalidSessionToken, InvalidShopDomain

LEEWAY_SECONDS = 5


@dataclass(frozen=True)
class SessionToken:
    shop: str
    user_id: str | None
    exp: int
    raw: str


def _host_of(url: object) -> str:
    if not isinstance(url, str):
        raise InvalidSessionToken("token claim is not a URL")
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise InvalidSessionToken("token claim is not an https URL")
    try:
        return normalize_shop_domain(parts.hostname)
    except InvalidShopDomain as error:
        raise InvalidSessionToken(str(error)) from error


def decode_session_token(token: str, *, api_key: str, api_secret: str) -> SessionToken:
    """Decode and check a session token; raise InvalidSessionToken on any flaw.

    `exp` and `nbf` are required (PyJWT and ShopifyAPI accept tokens without them), the
    algorithm is pinned to HS256 so `alg: none` cannot pass, and `iss` and `dest` must name
    the same valid shop.
    """
    try:
        claims = jwt.decode(
            token,
            api_secret,
            algorithms=["HS256"],
            audience=api_key,
            leeway=LEEWAY_SECONDS,
            options={"require": ["exp", "nbf", "iss", "dest", "aud"]},
        )
    except jwt.PyJWTError as error:
        raise InvalidSessionToken(f"invalid session token: {error}") from error
    dest_shop = _host_of(claims["dest"])
    iss_shop = _host_of(claims["iss"])
    if dest_shop != iss_shop:
        raise InvalidSessionToken("session token iss and dest name different shops")
    sub = claims.get("sub")
    return SessionToken(
        shop=dest_shop, user_id=str(sub) if sub else None, exp=claims["exp"], raw=token
    )
