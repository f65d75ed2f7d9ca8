"""Connecting Mailchimp: OAuth from the Imports page, the state checked, disconnect, uninstall."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from itsdangerous import URLSafeTimedSerializer

from shopify_app.mailchimp.connection import STATE_SALT
from shopify_app.platform.extensions import db
from shopify_app.platform.models import MailchimpConnection
from shopify_app.platform.shopify.token_store import decrypt_token
from shopify_app.platform.shops import uninstall_shop
from tests.csv_imports.importing import count
from tests.mailchimp.mailchimping import add_account, connect, connection


def test_connect_stores_the_token_encrypted_with_the_data_center(admin, shop, mailchimp_double):
    add_account(mailchimp_double, dc="us6")
    page = admin.get("/imports").get_data(as_text=True)
    assert "Connect Mailchimp" in page and 'target="_top"' in page

    landed = connect(admin, mailchimp_double)
    assert landed.status_code == 302
    assert landed.headers["Location"].endswith("/apps/test-api-key/mailchimp")
    stored = connection(shop)
    assert (stored.dc, stored.account_name, stored.broken_at) == ("us6", "Acme Inc", None)
    token = decrypt_token(stored.access_token_encrypted)
    assert token in mailchimp_double.store.tokens
    assert token not in stored.access_token_encrypted
    page = admin.get("/imports").get_data(as_text=True)
    assert "Connected to <strong>Acme Inc</strong>" in page


def _callback(admin, state: str, code: str = "abc"):
    return admin.client.get("/mailchimp/callback", query_string={"state": state, "code": code})


def test_a_forged_or_foreign_state_stores_nothing(app, admin, shop, mailchimp_double):
    add_account(mailchimp_double)
    started = admin.post("/mailchimp/connect")
    state = parse_qs(urlsplit(started.headers["Location"]).query)["state"][0]

    forged = URLSafeTimedSerializer("not-our-secret", salt=STATE_SALT).dumps(
        {"shop": shop.domain, "nonce": "x", "host": ""}
    )
    refused = _callback(admin, forged)
    assert refused.status_code == 400
    assert "invalid or has expired" in refused.get_data(as_text=True)
    assert "Traceback" not in refused.get_data(as_text=True)

    # Our signature, but another browser's nonce: someone else's link.
    other = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt=STATE_SALT).dumps(
        {"shop": shop.domain, "nonce": "someone-else", "host": ""}
    )
    assert "another browser" in _callback(admin, other).get_data(as_text=True)
    assert _callback(admin, state[:-2] + "xx").status_code == 400
    # The real state with a code Mailchimp never issued: Mailchimp refuses, nothing stored.
    unknown_code = _callback(admin, state, code="never-issued")
    assert unknown_code.status_code == 400
    assert "did not accept the connection" in unknown_code.get_data(as_text=True)
    assert count(MailchimpConnection) == 0


def test_denied_access_stores_nothing(admin, shop, mailchimp_double):
    add_account(mailchimp_double)
    started = admin.post("/mailchimp/connect")
    state = parse_qs(urlsplit(started.headers["Location"]).query)["state"][0]
    denied = admin.client.get(
        "/mailchimp/callback", query_string={"state": state, "error": "access_denied"}
    )
    assert denied.status_code == 400
    assert "not allowed" in denied.get_data(as_text=True)
    assert count(MailchimpConnection) == 0


def test_disconnect_asks_first_then_forgets_the_token(admin, shop, mailchimp_double):
    add_account(mailchimp_double)
    connect(admin, mailchimp_double)
    ask = admin.get("/mailchimp/disconnect").get_data(as_text=True)
    assert "Disconnect Mailchimp?" in ask and "Acme Inc" in ask
    assert connection(shop) is not None  # asking changed nothing
    done = admin.post("/mailchimp/disconnect")
    assert done.status_code == 302
    assert connection(shop) is None
    assert "Connect Mailchimp" in admin.get("/imports").get_data(as_text=True)


def test_uninstalling_the_app_removes_the_connection(admin, shop, mailchimp_double):
    add_account(mailchimp_double)
    connect(admin, mailchimp_double)
    uninstall_shop(shop)
    db.session.commit()
    assert connection(shop) is None
