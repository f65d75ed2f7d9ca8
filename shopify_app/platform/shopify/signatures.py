"""Shopify's signatures (webhook body, OAuth query, app proxy query), in constant time.

The OAuth query is ShopifyAPI's (Session.calculate_hmac / validate_hmac); it has nothing for
webhooks or the app proxy, so those two are written here.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping

import shopify


def _hmac_sha256(secret: str, message: bytes) -> bytes:
    return hmac.new(secret.encode(), message, hashlib.sha256).digest()


def webhook_signature(body: bytes, secret: str) -> str:
    """Base64 HMAC-SHA256 of the raw body, as in X-Shopify-Hmac-Sha256."""
    return base64.b64encode(_hmac_sha256(secret, body)).decode()


def verify_webhook(body: bytes, signature: str | None, secret: str) -> bool:
    if not signature:
        return False
    return hmac.compare_digest(webhook_signature(body, secret).encode(), signature.encode())


def _pairs(params: Iterable[tuple[str, str]], exclude: str) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for key, value in params:
        if key != exclude:
            grouped.setdefault(key, []).append(value)
    return grouped


def _oauth_session(secret: str) -> type[shopify.Session]:
    """ShopifyAPI's Session with this secret on a subclass of its own.

    `Session.setup(secret=...)` would set it on the class every thread and every app in the
    process share; a subclass keeps the secret to this call.
    """
    return type("AppSession", (shopify.Session,), {"secret": secret})


def oauth_query_signature(params: Iterable[tuple[str, str]], secret: str) -> str:
    """Hex HMAC of the query without `hmac`, as ShopifyAPI's Session.calculate_hmac signs it.

    Sorted `k=v` pairs joined by `&`; `%` and `&` are escaped, and `=` in keys, so pairs
    cannot be merged or split without changing the signature.
    """
    return _oauth_session(secret).calculate_hmac(dict(params))


def verify_oauth_query(params: Iterable[tuple[str, str]], secret: str) -> bool:
    """ShopifyAPI's Session.validate_hmac (constant time), refusing any repeated parameter.

    Shopify never repeats one; a dict of the query would silently keep one of the values.
    """
    params = list(params)
    query = dict(params)
    if len(query) != len(params) or not query.get("hmac"):
        return False
    return _oauth_session(secret).validate_hmac(query)


def proxy_signature(params: Iterable[tuple[str, str]], secret: str) -> str:
    """Hex HMAC of sorted `k=v` pairs concatenated with no separator (lists joined by `,`)."""
    grouped = _pairs(params, "signature")
    message = "".join(f"{k}={','.join(v)}" for k, v in sorted(grouped.items()))
    return _hmac_sha256(secret, message.encode()).hex()


def verify_proxy_query(params: Iterable[tuple[str, str]], secret: str) -> bool:
    params = list(params)
    given = next((v for k, v in params if k == "signature"), None)
    if not given:
        return False
    return hmac.compare_digest(proxy_signature(params, secret).encode(), given.encode())


def multidict_items(args: Mapping) -> list[tuple[str, str]]:
    """All (key, value) pairs of a werkzeug MultiDict, repeated keys included."""
    return list(args.items(multi=True)) if hasattr(args, "items") else list(args)
