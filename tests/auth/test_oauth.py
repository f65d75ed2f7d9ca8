"""The OAuth install against the Shopify double, and every way a callback is refused."""

from __future__ import annotations

import base64
import time
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
import requests
from sqlalchemy import func, select

from shopify_app.platform.extensions import db
from shopify_app.platform.models import OAuthState, Shop
from shopify_app.platform.shopify.signatures import oauth_query_signature
from shopify_app.platform.shopify.token_store import decrypt_token
from tests.helpers import API_SECRET

SHOP = "install-me.myshopify.com"


def _start_install(client, shopify_double):
    shopify_double.add_shop(SHOP)
    response = client.get(f"/auth?shop={SHOP}")
    assert response.status_code == 302
    authorize = response.headers["Location"]
    assert authorize.startswith(f"{shopify_double.base_url}/{SHOP}/admin/oauth/authorize?")
    query = dict(parse_qsl(urlsplit(authorize).query))
    assert query["scope"] == "read_customers,write_customers,read_orders,write_discounts"
    assert query["redirect_uri"] == f"{shopify_double.app_url}/auth/callback"
    approved = requests.get(authorize, allow_redirects=False, timeout=5)
    assert approved.status_code == 302
    callback = urlsplit(approved.headers["Location"])
    assert callback.path == "/auth/callback"
    return parse_qsl(callback.query)


def _shop_count(app) -> int:
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(Shop)).scalar_one()


def test_install_end_to_end_stores_encrypted_expiring_token(app, client, shopify_double):
    params = _start_install(client, shopify_double)
    response = client.get("/auth/callback?" + urlencode(params))
    assert response.status_code == 302
    assert response.headers["Location"].startswith(
        "https://admin.shopify.com/store/install-me/apps/"
    )
    with app.app_context():
        shop = db.session.execute(select(Shop).where(Shop.domain == SHOP)).scalar_one()
        plaintext = decrypt_token(shop.access_token_encrypted)
        assert plaintext in shopify_double.access_tokens(SHOP)
        assert plaintext not in shop.access_token_encrypted
        assert shop.refresh_token_encrypted and shop.access_token_expires_at is not None
        assert shop.is_installed


def test_reused_state_is_rejected(app, client, shopify_double):
    params = _start_install(client, shopify_double)
    assert client.get("/auth/callback?" + urlencode(params)).status_code == 302
    # Even with the browser's state cookie restored, the state is spent.
    client.set_cookie("shopify_oauth_state", dict(params)["state"], path="/auth")
    replay = client.get("/auth/callback?" + urlencode(params))
    assert replay.status_code == 400
    assert b"already used" in replay.data


def _resign(params: list[tuple[str, str]], **changes: str) -> list[tuple[str, str]]:
    query = {k: v for k, v in params if k != "hmac"}
    query.update(changes)
    pairs = list(query.items())
    return pairs + [("hmac", oauth_query_signature(pairs, API_SECRET))]


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda p: [(k, v if k != "hmac" else "0" * 64) for k, v in p], id="bad-hmac"),
        pytest.param(lambda p: [(k, v) for k, v in p if k != "hmac"], id="missing-hmac"),
        pytest.param(lambda p: _resign(p, timestamp=str(int(time.time()) - 3600)), id="stale"),
        pytest.param(lambda p: _resign(p, state="forged-state"), id="wrong-state"),
        pytest.param(lambda p: _resign(p, shop="other.myshopify.com"), id="other-shop"),
        pytest.param(lambda p: _resign(p, shop="evil.com"), id="evil-shop"),
    ],
)
def test_tampered_callback_is_rejected_and_stores_nothing(app, client, shopify_double, tamper):
    params = _start_install(client, shopify_double)
    response = client.get("/auth/callback?" + urlencode(tamper(params)))
    assert response.status_code == 400
    assert _shop_count(app) == 0


def test_callback_without_the_state_cookie_is_rejected(app, client, shopify_double):
    params = _start_install(client, shopify_double)
    client.delete_cookie("shopify_oauth_state", path="/auth")
    assert client.get("/auth/callback?" + urlencode(params)).status_code == 400
    assert _shop_count(app) == 0


@pytest.mark.parametrize(
    "shop",
    [
        "evil.com",
        "shop.myshopify.com.evil.com",
        "shop.myshopify.com/../x",
        "SHOP.myshopify.com\x00",
        "https://shop.myshopify.com",
        "-shop.myshopify.com",
        "",
    ],
)
def test_install_refuses_hostile_shop_domains(app, client, shop):
    response = client.get("/auth", query_string={"shop": shop})
    assert response.status_code == 400
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(OAuthState)).scalar_one() == 0


def test_host_that_is_not_an_admin_is_never_a_redirect_target(app, client, shopify_double):

    params = _start_install(client, shopify_double)
    evil = base64.urlsafe_b64encode(b"evil.example/store/x").decode().rstrip("=")
    response = client.get("/auth/callback?" + urlencode(_resign(params, host=evil)))
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).hostname == "admin.shopify.com"
