"""Session-token decoding without a database: ShopifyAPI's decoder plus the checks SPEC adds."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest
from shopify import session_token as shopify_session_token

from shopify_app.platform.auth.session_token import decode_session_token
from shopify_app.platform.errors import InvalidSessionToken

KEY, SECRET = "unit-api-key", "unit-api-secret-long-enough-for-hs256"
SHOP = "unit-shop.myshopify.com"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _token(secret: str = SECRET, alg: str = "HS256", **overrides: object) -> str:
    """Signed by hand, so claims PyJWT refuses to encode (a number as `iss`) can be tested."""
    now = int(time.time())
    claims = {
        "iss": f"https://{SHOP}/admin",
        "dest": f"https://{SHOP}",
        "aud": KEY,
        "sub": "42",
        "exp": now + 60,
        "nbf": now - 5,
        "iat": now,
        "jti": "jti",
        "sid": "sid",
        **overrides,
    }
    claims = {k: v for k, v in claims.items() if v is not None}
    head = _b64(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    body = _b64(json.dumps(claims).encode())
    if alg == "none":
        return f"{head}.{body}."
    signature = hmac.new(secret.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{_b64(signature)}"


def test_a_valid_token_names_its_shop_and_user():
    token = _token()
    decoded = decode_session_token(token, api_key=KEY, api_secret=SECRET)
    assert (decoded.shop, decoded.user_id, decoded.raw) == (SHOP, "42", token)
    assert isinstance(decoded.exp, int) and decoded.exp > time.time()


def _now() -> int:
    return int(time.time())


#: tokens ShopifyAPI's decode_from_header accepts on its own: the reason for the wrapper.
#: Claims are made when a test runs (not at collection), so the times are fresh.
ONLY_OUR_CHECKS_REFUSE = {
    "no-exp": lambda: {"exp": None},
    "no-nbf": lambda: {"nbf": None},
    "exp-as-text": lambda: {"exp": str(_now() + 60)},
    "http-iss-and-dest": lambda: {"iss": f"http://{SHOP}/admin", "dest": f"http://{SHOP}"},
}

HOSTILE = {
    **ONLY_OUR_CHECKS_REFUSE,
    "expired": lambda: {"exp": _now() - 60},
    "not-yet-valid": lambda: {"nbf": _now() + 60},
    "wrong-audience": lambda: {"aud": "another-app"},
    "iss-dest-differ": lambda: {"iss": "https://other-shop.myshopify.com/admin"},
    "iss-not-a-string": lambda: {"iss": 5},
    "dest-not-a-string": lambda: {"dest": ["https://" + SHOP]},
    "dest-not-shopify": lambda: {"iss": "https://evil.com/admin", "dest": "https://evil.com"},
    "userinfo": lambda: {"iss": f"https://x@{SHOP}/admin", "dest": f"https://x@{SHOP}"},
    "port": lambda: {"iss": f"https://{SHOP}:8443/admin", "dest": f"https://{SHOP}:8443"},
    "lookalike": lambda: {
        "iss": f"https://{SHOP}.evil.com/admin",
        "dest": f"https://{SHOP}.evil.com",
    },
    "no-sid": lambda: {"sid": None},
}


@pytest.mark.parametrize("claims", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_claims_are_refused(claims):
    with pytest.raises(InvalidSessionToken):
        decode_session_token(_token(**claims()), api_key=KEY, api_secret=SECRET)


NOT_SIGNED_BY_THE_APP = {
    "wrong-secret": lambda: _token(secret="not-the-app-secret-but-long-enough"),
    "alg-none": lambda: _token(alg="none"),
    "truncated-signature": lambda: _token()[:-2],
    "garbage": lambda: "not.a.token",
    "empty": lambda: "",
}


@pytest.mark.parametrize("token", NOT_SIGNED_BY_THE_APP.values(), ids=NOT_SIGNED_BY_THE_APP.keys())
def test_tokens_not_signed_by_the_app_are_refused(token):
    with pytest.raises(InvalidSessionToken):
        decode_session_token(token(), api_key=KEY, api_secret=SECRET)


@pytest.mark.parametrize(
    "claims", ONLY_OUR_CHECKS_REFUSE.values(), ids=ONLY_OUR_CHECKS_REFUSE.keys()
)
def test_shopifyapi_alone_accepts_what_the_wrapper_refuses(claims):
    # Measured on ShopifyAPI 12.7 (SPEC's caveats); if this starts failing, the library got
    # stricter and the matching check in session_token.py may be dropped.
    token = _token(**claims())
    decoded = shopify_session_token.decode_from_header(f"Bearer {token}", KEY, SECRET)
    assert decoded["dest"].endswith(SHOP)
