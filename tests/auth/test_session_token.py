"""Every admin request is authenticated by an App Bridge session token."""

from __future__ import annotations

import time

import jwt
import pytest
from sqlalchemy import select

from shopify_app.platform.extensions import db
from shopify_app.platform.models import Shop
from shopify_app.platform.shopify.token_store import decrypt_token
from tests.helpers import API_KEY, API_SECRET, make_shop

RETRY = "X-Shopify-Retry-Invalid-Session-Request"


def _claims(shop: str, **overrides):
    now = int(time.time())
    claims = {
        "iss": f"https://{shop}/admin",
        "dest": f"https://{shop}",
        "aud": API_KEY,
        "sub": "1",
        "exp": now + 60,
        "nbf": now - 5,
        "iat": now,
        "jti": "j",
        "sid": "s",
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _token(shop: str, secret: str = API_SECRET, **overrides) -> str:
    return jwt.encode(_claims(shop, **overrides), secret, algorithm="HS256")


def _unsigned(shop: str) -> str:
    return jwt.encode(_claims(shop), key=None, algorithm="none")


BAD_TOKENS = {
    "expired": lambda s: _token(s, exp=int(time.time()) - 60),
    "not-yet-valid": lambda s: _token(s, nbf=int(time.time()) + 60),
    "no-exp": lambda s: _token(s, exp=None),
    "no-nbf": lambda s: _token(s, nbf=None),
    "wrong-audience": lambda s: _token(s, aud="someone-else"),
    "wrong-secret": lambda s: _token(s, secret="not-the-secret-but-long-enough-for-hs256"),
    "alg-none": _unsigned,
    "iss-dest-differ": lambda s: _token(s, iss="https://other-shop.myshopify.com/admin"),
    "dest-not-shopify": lambda s: _token(s, dest="https://evil.com", iss="https://evil.com/admin"),
    "garbage": lambda s: "not.a.token",
}


@pytest.mark.parametrize("kind", BAD_TOKENS)
def test_bad_tokens_get_401_with_retry_header_on_fetch(client, shop, kind):
    response = client.get(
        "/status.json", headers={"Authorization": f"Bearer {BAD_TOKENS[kind](shop.domain)}"}
    )
    assert response.status_code == 401
    assert response.headers[RETRY] == "1"


@pytest.mark.parametrize("kind", ["expired", "wrong-secret", "alg-none"])
def test_document_load_with_bad_token_goes_to_the_bounce_page(client, shop, kind):
    token = BAD_TOKENS[kind](shop.domain)
    response = client.get(f"/?shop={shop.domain}&host=abc&embedded=1&id_token={token}")
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith("/auth/session-token?")
    assert "shopify-reload=" in location and "id_token" not in location.split("shopify-reload")[1]
    bounce = client.get(location)
    assert bounce.status_code == 200
    assert b"app-bridge.js" in bounce.data and API_KEY.encode() in bounce.data


def test_document_load_without_token_bounces_not_oauth(client, shop):
    response = client.get(f"/?shop={shop.domain}&embedded=1")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/session-token")


def test_valid_token_renders_home_with_frame_ancestors(admin, shop):
    response = admin.get("/")
    assert response.status_code == 200
    assert (
        response.headers["Content-Security-Policy"]
        == f"frame-ancestors https://{shop.domain} https://admin.shopify.com;"
    )
    assert b"test-shop" in response.data


def test_shop_param_that_differs_from_token_is_401(client, shop, shopify_double):
    token = shopify_double.session_token(shop.domain)
    response = client.get(
        "/status.json?shop=other.myshopify.com", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 401


def test_first_load_installs_by_token_exchange(app, client, shopify_double):
    domain = "managed.myshopify.com"
    shopify_double.add_shop(domain)
    token = shopify_double.session_token(domain)
    response = client.get(f"/?shop={domain}&embedded=1&id_token={token}")
    assert response.status_code == 200
    with app.app_context():
        stored = db.session.execute(select(Shop).where(Shop.domain == domain)).scalar_one()
        assert decrypt_token(stored.access_token_encrypted) in shopify_double.access_tokens(domain)


def test_token_for_a_shop_shopify_will_not_install_is_rejected(app, client):
    # Signed correctly, but the shop does not exist at Shopify: the exchange fails.
    token = _token("ghost.myshopify.com")
    response = client.get("/status.json", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    with app.app_context():
        assert db.session.execute(select(Shop)).first() is None


def test_invalid_client_is_an_error_and_stores_nothing(app, client, shopify_double):
    domain = "wrong-secret.myshopify.com"
    shopify_double.add_shop(domain)
    token = shopify_double.session_token(domain)
    app.config["SHOPIFY_API_SECRET"], saved = (
        "rotated-secret-0123456789abcdef-0123",
        app.config["SHOPIFY_API_SECRET"],
    )
    try:
        forged_for_us = _token(domain, secret="rotated-secret-0123456789abcdef-0123")
        response = client.get("/status.json", headers={"Authorization": f"Bearer {forged_for_us}"})
    finally:
        app.config["SHOPIFY_API_SECRET"] = saved
    assert token
    assert response.status_code == 502
    with app.app_context():
        assert db.session.execute(select(Shop)).first() is None


def test_tenancy_token_for_a_reads_only_a(ctx, client, shopify_double):
    a = make_shop(shopify_double, "shop-a.myshopify.com", name="Alpha Store")
    make_shop(shopify_double, "shop-b.myshopify.com", name="Bravo Store")
    token = shopify_double.session_token(a.domain)
    body = client.get(f"/?shop={a.domain}&embedded=1&id_token={token}").data
    assert b"shop-a.myshopify.com" in body and b"shop-b" not in body
    crossed = client.get(f"/?shop=shop-b.myshopify.com&embedded=1&id_token={token}")
    assert crossed.status_code == 401
    assert b"shop-b" not in crossed.data
