"""Loopback-only demo session tokens: the demo's stand-in for App Bridge.

Minted and honoured only when DEMO_MODE is on and the client is on loopback (see
`guards.is_demo_request`); production refuses DEMO_MODE at start-up. The demo's seeding lives
outside the runtime package, in `demo/`.
"""

from __future__ import annotations

import secrets
import time
from urllib.parse import urlencode

import jwt
from flask import current_app, request

DEMO_SHOP = "demo-referrals.myshopify.com"
DEMO_TOKEN_TTL = 3600


def mint_demo_token(shop_domain: str = DEMO_SHOP, ttl: int = DEMO_TOKEN_TTL) -> str:
    """A session token shaped like App Bridge's, signed with the app secret."""
    now = int(time.time())
    claims = {
        "iss": f"https://{shop_domain}/admin",
        "dest": f"https://{shop_domain}",
        "aud": current_app.config["SHOPIFY_API_KEY"],
        "sub": "1",
        "exp": now + ttl,
        "nbf": now - 5,
        "iat": now,
        "jti": secrets.token_hex(8),
        "sid": "demo",
    }
    return jwt.encode(claims, current_app.config["SHOPIFY_API_SECRET"], algorithm="HS256")


def demo_reload_url(full_path: str) -> str:
    """The same URL with a fresh demo token (the demo's stand-in for App Bridge's bounce)."""
    path = full_path.partition("?")[0]
    args = [(k, v) for k, v in request.args.items(multi=True) if k not in {"id_token", "shop"}]
    args += [("shop", DEMO_SHOP), ("id_token", mint_demo_token())]
    return f"{path}?{urlencode(args)}"


def demo_home_url(base_url: str) -> str:
    return f"{base_url.rstrip('/')}/?{urlencode({'shop': DEMO_SHOP, 'embedded': '1'})}"
