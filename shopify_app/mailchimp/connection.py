"""Connecting a shop's Mailchimp account: OAuth 2, the data center, the token stored encrypted.

The `state` is signed with SECRET_KEY, names the shop and expires: the callback arrives at
the top level without a session token, so the state is the only thing that says which shop
asked, and a forged or stale one stores nothing. Nothing here commits.
"""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlencode

import requests
from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import delete, select

from shopify_app.mailchimp.client import MailchimpClient, MailchimpError, MailchimpUnauthorized
from shopify_app.platform.errors import AppError
from shopify_app.platform.extensions import db
from shopify_app.platform.models import MailchimpConnection, Shop
from shopify_app.platform.models.base import utcnow
from shopify_app.platform.shopify.token_store import decrypt_token, encrypt_token

STATE_MAX_AGE = 600
STATE_SALT = "mailchimp-oauth-state"


class InvalidMailchimpCallback(AppError):
    """The callback's state is missing, forged, expired, or for another browser."""


class NotConnected(AppError):
    """The shop has no working Mailchimp connection."""


def _signer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=STATE_SALT)


def configured() -> bool:
    return bool(current_app.config["MAILCHIMP_CLIENT_ID"])


def redirect_uri() -> str:
    return f"{current_app.config['SHOPIFY_APP_URL']}/mailchimp/callback"


def start_connect(shop: Shop, host: str | None) -> tuple[str, str]:
    """(Mailchimp's authorize URL, the nonce the browser keeps in a cookie)."""
    nonce = secrets.token_urlsafe(16)
    state = _signer().dumps({"shop": shop.domain, "nonce": nonce, "host": host or ""})
    query = urlencode(
        {
            "response_type": "code",
            "client_id": current_app.config["MAILCHIMP_CLIENT_ID"],
            "redirect_uri": redirect_uri(),
            "state": state,
        }
    )
    return f"{current_app.config['MAILCHIMP_OAUTH_BASE']}/oauth2/authorize?{query}", nonce


def verify_state(state: str, cookie_nonce: str | None) -> dict[str, str]:
    """The state's {shop, nonce, host} if it is ours, fresh and this browser's."""
    try:
        data = _signer().loads(state, max_age=STATE_MAX_AGE)
    except BadSignature as error:
        raise InvalidMailchimpCallback(
            "This Mailchimp connection link is invalid or has expired. "
            "Start again from the Imports page."
        ) from error
    if not cookie_nonce or not secrets.compare_digest(str(data.get("nonce")), cookie_nonce):
        raise InvalidMailchimpCallback(
            "This Mailchimp connection was started in another browser. "
            "Start again from the Imports page."
        )
    return data


def _oauth_call(method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    config = current_app.config
    try:
        response = requests.request(
            method, config["MAILCHIMP_OAUTH_BASE"] + path, timeout=config["HTTP_TIMEOUT"], **kwargs
        )
    except requests.RequestException as error:
        raise MailchimpError("Mailchimp could not be reached; try connecting again.") from error
    if response.status_code != 200:
        raise MailchimpError(
            "Mailchimp did not accept the connection; try connecting again. "
            f"(Mailchimp said: HTTP {response.status_code})"
        )
    return response.json()


def finish_connect(shop: Shop, code: str) -> MailchimpConnection:
    """Exchange the code, read the account's data center, store the token encrypted."""
    config = current_app.config
    grant = _oauth_call(
        "POST",
        "/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "client_id": config["MAILCHIMP_CLIENT_ID"],
            "client_secret": config["MAILCHIMP_CLIENT_SECRET"],
            "redirect_uri": redirect_uri(),
            "code": code,
        },
    )
    token = grant["access_token"]
    meta = _oauth_call("GET", "/oauth2/metadata", headers={"Authorization": f"OAuth {token}"})
    connection = find_connection(shop)
    if connection is None:
        connection = MailchimpConnection(shop_id=shop.id)
        db.session.add(connection)
    connection.access_token_encrypted = encrypt_token(token)
    connection.dc = meta["dc"]
    connection.account_name = (
        meta.get("accountname") or meta.get("login", {}).get("login_name") or "Mailchimp"
    )[:255]
    connection.login_email = (meta.get("login") or {}).get("login_email")
    connection.broken_at = None
    db.session.flush()
    return connection


def find_connection(shop: Shop) -> MailchimpConnection | None:
    return db.session.scalars(
        select(MailchimpConnection).where(MailchimpConnection.shop_id == shop.id)
    ).one_or_none()


def disconnect(shop: Shop) -> bool:
    """Forget the shop's Mailchimp token; True when there was one."""
    gone = db.session.execute(
        delete(MailchimpConnection).where(MailchimpConnection.shop_id == shop.id)
    ).rowcount
    return bool(gone)


def client_for(shop: Shop) -> MailchimpClient:
    """An API client on the shop's stored token; NotConnected when there is none that works."""
    connection = find_connection(shop)
    if connection is None:
        raise NotConnected("Connect Mailchimp first.")
    if connection.broken_at is not None:
        raise NotConnected("Mailchimp no longer accepts the app's access: reconnect Mailchimp.")
    token = decrypt_token(connection.access_token_encrypted)
    if token is None:
        raise NotConnected("The stored Mailchimp access cannot be read: reconnect Mailchimp.")
    return MailchimpClient(connection.dc, token=token)


def mark_broken(shop: Shop) -> None:
    """Mailchimp answered 401: the merchant sees "Reconnect Mailchimp" until they do."""
    connection = find_connection(shop)
    if connection is not None and connection.broken_at is None:
        connection.broken_at = utcnow()


def list_audiences(shop: Shop) -> list[dict[str, Any]]:
    """The account's audiences; a 401 marks the connection broken (the caller commits)."""
    client = client_for(shop)
    try:
        return client.audiences()
    except MailchimpUnauthorized:
        mark_broken(shop)
        raise
