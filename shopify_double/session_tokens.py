"""App Bridge session tokens: minted as Shopify mints them, verified as token exchange does.

The app authenticates every embedded request with these JWTs and trades them for offline access
tokens, so both sides have to agree on the exact claims.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any

import jwt


class InvalidSessionToken(Exception):
    """A session token failed verification; the message says why."""


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def mint_session_token(
    shop: str,
    *,
    api_key: str,
    api_secret: str,
    user_id: int = 1,
    exp_in: int = 60,
    nbf_offset: int = -5,
    secret: str | None = None,
    aud: str | None = None,
    dest: str | None = None,
    iss: str | None = None,
    alg: str = "HS256",
    extra: dict[str, Any] | None = None,
) -> str:
    """A session token for `shop`; overrides produce the broken tokens negative tests need.

    Args:
        extra: claims to add or replace; a None value removes that claim (e.g. no `exp`).
        alg: "none" produces an unsigned token, as an attacker would send.
    """
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": iss if iss is not None else f"https://{shop}/admin",
        "dest": dest if dest is not None else f"https://{shop}",
        "aud": aud if aud is not None else api_key,
        "sub": str(user_id),
        "exp": now + exp_in,
        "nbf": now + nbf_offset,
        "iat": now + min(nbf_offset, 0),
        "jti": str(uuid.uuid4()),
        "sid": uuid.uuid4().hex,
    }
    for name, value in (extra or {}).items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    if alg.lower() == "none":
        header = _b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode())
        return f"{header}.{_b64url(json.dumps(claims).encode())}."
    return jwt.encode(claims, secret if secret is not None else api_secret, algorithm=alg)


def verify_session_token(
    token: str, *, api_key: str, api_secret: str, shop: str, leeway: int = 5
) -> dict[str, Any]:
    """The claims of a valid token for `shop`, or InvalidSessionToken naming the failure."""
    try:
        claims = jwt.decode(
            token,
            api_secret,
            algorithms=["HS256"],
            audience=api_key,
            leeway=leeway,
            options={"require": ["exp", "nbf", "iss", "dest", "aud", "sub"]},
        )
    except jwt.PyJWTError as exc:
        raise InvalidSessionToken(f"Session token is invalid: {exc}") from exc
    if claims["dest"] != f"https://{shop}":
        raise InvalidSessionToken("Session token was issued for another shop")
    if claims["iss"] != f"{claims['dest']}/admin":
        raise InvalidSessionToken("Session token issuer does not match its destination")
    return claims
