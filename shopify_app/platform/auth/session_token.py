"""Verify App Bridge session tokens: the identity of every embedded admin request.

ShopifyAPI's `session_token.decode_from_header` does the JWT work (HS256 only, the signature,
`aud`, `exp`/`nbf` when present with its 10 s leeway, `iss`/`dest` present and on one host). It
is wrapped by what SPEC asks for and it does not check: `exp` and `nbf` are required, and `iss`
and `dest` must be https URLs whose host is exactly a valid shop domain (its
`sanitize_shop_domain` rewrites hostile input instead of refusing it).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from shopify import session_token as shopify_session_token

from shopify_app.platform.auth.shop_domain import normalize_shop_domain
from shopify_app.platform.errors import InvalidSessionToken, InvalidShopDomain

#: claims that must be integers; ShopifyAPI only checks them when they are there.
REQUIRED_TIMES = ("exp", "nbf")


@dataclass(frozen=True)
class SessionToken:
    shop: str
    user_id: str | None
    exp: int
    raw: str


def _host_of(url: object) -> str:
    """The shop domain an `iss`/`dest` claim names; the URL's authority must be only that."""
    if not isinstance(url, str):
        raise InvalidSessionToken("token claim is not a URL")
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname or parts.netloc.lower() != parts.hostname:
        raise InvalidSessionToken("token claim is not an https URL of a shop")
    try:
        return normalize_shop_domain(parts.hostname)
    except InvalidShopDomain as error:
        raise InvalidSessionToken(str(error)) from error


def decode_session_token(token: str, *, api_key: str, api_secret: str) -> SessionToken:
    """Decode and check a session token; raise InvalidSessionToken on any flaw."""
    try:
        claims = shopify_session_token.decode_from_header(f"Bearer {token}", api_key, api_secret)
    except (shopify_session_token.SessionTokenError, TypeError, ValueError) as error:
        # TypeError: ShopifyAPI's issuer check crashes on a claim that is not a string.
        raise InvalidSessionToken(f"invalid session token: {error}") from error
    for claim in REQUIRED_TIMES:
        value = claims.get(claim)
        if not isinstance(value, int) or isinstance(value, bool):
            raise InvalidSessionToken(f"session token has no integer {claim!r} claim")
    dest_shop = _host_of(claims["dest"])
    iss_shop = _host_of(claims["iss"])
    if dest_shop != iss_shop:
        raise InvalidSessionToken("session token iss and dest name different shops")
    sub = claims.get("sub")
    return SessionToken(
        shop=dest_shop, user_id=str(sub) if sub else None, exp=claims["exp"], raw=token
    )
