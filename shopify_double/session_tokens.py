"""App Bridge session tokens: minted as Shopify mints them, verified as token exchange does.

The app authenticates every embedded request with these JWTs and trades them for offline access
tokens, so both sides have to agree on the exact claims.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
import uuid
from typing import Any

DIGESTS = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}


class InvalidSessionToken(Exception):
    """A session token failed verification; the message says why."""


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(alg: str, secret: str, signing_input: str) -> str:
    digest = DIGESTS[alg]
    return _b64url(hmac.new(secret.encode(), signing_input.encode(), digest).digest())


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
    header = {"alg": "none" if alg.lower() == "none" else alg, "typ": "JWT"}
    compact = {"separators": (",", ":")}
    signing_input = ".".join(
        _b64url(json.dumps(part, **compact).encode()) for part in (header, claims)
    )
    if header["alg"] == "none":
        return f"{signing_input}."
    if alg not in DIGESTS:
        raise ValueError(f"the double signs HMAC session tokens only, not {alg}")
    return f"{signing_input}.{_signature(alg, secret or api_secret, signing_input)}"


def verify_session_token(
    token: str, *, api_key: str, api_secret: str, shop: str, leeway: int = 5
) -> dict[str, Any]:
    """The claims of a valid token for `shop`, or InvalidSessionToken naming the failure.

    Checked by hand rather than with PyJWT, which warns (an error under pytest) on the short
    secrets tests like to use.
    """
    try:
        header_part, payload_part, signature = token.split(".")
        header = json.loads(_b64url_decode(header_part))
        claims = json.loads(_b64url_decode(payload_part))
    except (ValueError, binascii.Error) as exc:
        raise InvalidSessionToken("Session token is malformed") from exc
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise InvalidSessionToken("Session token is malformed")
    if header.get("alg") != "HS256":
        raise InvalidSessionToken(f"Session token algorithm {header.get('alg')!r} is not HS256")
    expected = _signature("HS256", api_secret, f"{header_part}.{payload_part}")
    if not hmac.compare_digest(expected, signature):
        raise InvalidSessionToken("Session token signature verification failed")
    missing = [c for c in ("exp", "nbf", "iss", "dest", "aud", "sub") if c not in claims]
    if missing:
        raise InvalidSessionToken(f"Session token is missing claims: {', '.join(missing)}")
    now = time.time()
    if not isinstance(claims["exp"], int | float) or claims["exp"] <= now - leeway:
        raise InvalidSessionToken("Session token has expired")
    if not isinstance(claims["nbf"], int | float) or claims["nbf"] > now + leeway:
        raise InvalidSessionToken("Session token is not yet valid")
    audience = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if api_key not in audience:
        raise InvalidSessionToken("Session token audience does not match the client id")
    if claims["dest"] != f"https://{shop}":
        raise InvalidSessionToken("Session token was issued for another shop")
    if claims["iss"] != f"{claims['dest']}/admin":
        raise InvalidSessionToken("Session token issuer does not match its destination")
    return claims
