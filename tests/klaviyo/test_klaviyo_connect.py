"""The Program page's Klaviyo section: the key checked with a real call, stored encrypted."""

from __future__ import annotations

import pytest

from shopify_app.integrations.klaviyo import connection
from shopify_app.platform.extensions import db
from shopify_app.platform.shopify.token_store import decrypt_token
from tests.helpers import make_shop
from tests.klaviyo.conftest import KEY, stored


def test_a_good_key_is_checked_with_klaviyo_and_stored_encrypted(admin, shop, klaviyo):
    response = admin.post("/program/klaviyo", {"api_key": f"  {KEY} "})
    assert response.status_code == 302
    row = stored(shop)
    assert row is not None and row.account_name == "Test Store"
    assert KEY not in row.api_key_encrypted and decrypt_token(row.api_key_encrypted) == KEY
    assert row.key_hint == KEY[-4:] and not row.klaviyo_sends_invitations
    assert klaviyo.received(KEY) == {"duplicate_events": 0}  # only the key check so far
    page = admin.get("/program").get_data(as_text=True)
    assert "Connected to <strong>Test Store</strong>" in page and KEY not in page


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("pk_wrong_0000000000000000000000000000", "Klaviyo did not accept this key"),
        ("AbC123", "public key"),
        ("", "Paste your Klaviyo private API key"),
        ("sk_live_123456789", "starts with pk_"),
    ],
)
def test_a_bad_key_gets_a_field_error_and_nothing_is_stored(admin, shop, klaviyo, key, message):
    response = admin.post("/program/klaviyo", {"api_key": key})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in page and 'id="field-api_key-error"' in page
    assert key == "" or key not in page  # what was pasted is never printed back
    assert stored(shop) is None


def test_a_key_without_the_accounts_scope_is_refused(admin, shop, klaviyo):
    limited = "pk_limited_00000000000000000000000000"
    klaviyo.add_key(limited, account="Limited", scopes=frozenset({"events:write"}))
    response = admin.post("/program/klaviyo", {"api_key": limited})
    assert response.status_code == 400
    assert "lacks a permission" in response.get_data(as_text=True)
    assert stored(shop) is None


def test_klaviyo_unreachable_while_checking_stores_nothing(admin, shop, klaviyo):
    klaviyo.go_down()
    response = admin.post("/program/klaviyo", {"api_key": KEY})
    assert response.status_code == 503
    assert "could not be reached" in response.get_data(as_text=True)
    assert stored(shop) is None


def test_who_sends_invitations_is_the_merchants_choice(admin, connected):
    assert (
        admin.post("/program/klaviyo/invitations", {"invitations_by": "klaviyo"}).status_code == 302
    )
    assert stored(connected).klaviyo_sends_invitations
    assert connection.klaviyo_sends_invitations(connected)
    page = admin.get("/program").get_data(as_text=True)
    assert '<option value="klaviyo" selected>' in page
    assert admin.post("/program/klaviyo/invitations", {"invitations_by": "x"}).status_code == 400
    assert admin.post("/program/klaviyo/invitations", {"invitations_by": "app"}).status_code == 302
    assert not stored(connected).klaviyo_sends_invitations


def test_choosing_klaviyo_without_a_connection_is_refused(admin, shop, klaviyo):
    response = admin.post("/program/klaviyo/invitations", {"invitations_by": "klaviyo"})
    assert response.status_code == 400 and "Connect Klaviyo first" in response.get_data(
        as_text=True
    )
    assert not connection.klaviyo_sends_invitations(shop)


def test_disconnect_asks_first_then_deletes_the_key(admin, connected):
    ask = admin.get("/program/klaviyo/disconnect")
    html = ask.get_data(as_text=True)
    assert ask.status_code == 200 and "Disconnect Klaviyo?" in html
    assert "The stored API key is deleted" in html
    assert stored(connected) is not None  # asking changed nothing
    assert admin.post("/program/klaviyo/disconnect").status_code == 302
    assert stored(connected) is None
    assert "Connect Klaviyo" in admin.get("/program").get_data(as_text=True)


def test_another_shops_connection_is_not_seen(admin, shop, shopify_double, klaviyo):
    other = make_shop(shopify_double, "other-shop.myshopify.com")
    connection.connect(other, KEY)
    db.session.commit()
    page = admin.get("/program").get_data(as_text=True)
    assert "Connected to" not in page and "Connect Klaviyo" in page
    assert not connection.status(shop).connected and connection.status(other).connected


def test_klaviyo_asking_to_wait_while_checking_stores_nothing(admin, shop, klaviyo):
    klaviyo.fail_next(429, n=1, retry_after=60)
    response = admin.post("/program/klaviyo", {"api_key": KEY})
    assert response.status_code == 503
    assert "Klaviyo is busy" in response.get_data(as_text=True)
    assert stored(shop) is None
