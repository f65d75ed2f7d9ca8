"""The shop's Klaviyo connection: the key checked with a real call and stored encrypted,
who sends the invitations, and forgetting it all (disconnect, uninstall, redaction)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select

from shopify_app.integrations.klaviyo.client import KlaviyoClient
from shopify_app.platform.extensions import db
from shopify_app.platform.models import KlaviyoConnection, KlaviyoProfile, Shop
from shopify_app.platform.models.base import utcnow
from shopify_app.platform.models.klaviyo import CONNECTED
from shopify_app.platform.shopify.token_store import decrypt_token, encrypt_token


@dataclass(frozen=True)
class KlaviyoStatus:
    """What the Program page shows of the connection (plain data for the template)."""

    connected: bool
    account_name: str = ""
    key_hint: str = ""
    sends_invitations: bool = False
    healthy: bool = True
    last_error: str | None = None
    last_synced_at: datetime | None = None
    retry_at: datetime | None = None


def get_connection(shop: Shop) -> KlaviyoConnection | None:
    return db.session.execute(
        select(KlaviyoConnection).where(KlaviyoConnection.shop_id == shop.id)
    ).scalar_one_or_none()


def status(shop: Shop) -> KlaviyoStatus:
    connection = get_connection(shop)
    if connection is None:
        return KlaviyoStatus(connected=False)
    return KlaviyoStatus(
        connected=True,
        account_name=connection.account_name,
        key_hint=connection.key_hint,
        sends_invitations=connection.klaviyo_sends_invitations,
        healthy=connection.status == CONNECTED,
        last_error=connection.last_error,
        last_synced_at=connection.last_synced_at,
        retry_at=connection.retry_at,
    )


def klaviyo_sends_invitations(shop: Shop) -> bool:
    """A Klaviyo flow sends the invitations: the app enrols but emails no one itself."""
    return bool(
        db.session.execute(
            select(KlaviyoConnection.klaviyo_sends_invitations).where(
                KlaviyoConnection.shop_id == shop.id
            )
        ).scalar_one_or_none()
    )


def api_key(connection: KlaviyoConnection) -> str | None:
    """The plain key, or None if SECRET_KEY changed since it was stored (reconnect)."""
    return decrypt_token(connection.api_key_encrypted)


def connect(shop: Shop, key: str) -> KlaviyoConnection:
    """Check the key with `GET /api/accounts/`, then store it encrypted; raises KlaviyoError
    (nothing stored) when Klaviyo refuses it. A new key replaces the old one."""
    account = KlaviyoClient(key).account_name()
    connection = get_connection(shop)
    if connection is None:
        connection = KlaviyoConnection(shop_id=shop.id, klaviyo_sends_invitations=False)
        db.session.add(connection)
    connection.api_key_encrypted = encrypt_token(key)
    connection.key_hint = key[-4:]
    connection.account_name = account
    connection.status = CONNECTED
    connection.connected_at = utcnow()
    connection.failures = 0
    connection.retry_at = None
    connection.last_error = None
    db.session.flush()
    return connection


def set_sends_invitations(shop: Shop, klaviyo: bool) -> bool:
    """Choose who sends the invitations; False when no Klaviyo account is connected."""
    connection = get_connection(shop)
    if connection is None:
        return False
    connection.klaviyo_sends_invitations = klaviyo
    return True


def disconnect(shop: Shop) -> None:
    """Forget the key and what was sent (a reconnect sends everything again, once).

    Deletions owed to Klaviyo stay: a redacted customer's profile is still there, and a
    reconnect sends them first; shop/redact erases them with the rest of the shop."""
    db.session.execute(delete(KlaviyoProfile).where(KlaviyoProfile.shop_id == shop.id))
    db.session.execute(delete(KlaviyoConnection).where(KlaviyoConnection.shop_id == shop.id))
