"""Install, uninstall and look up shops: the tenant's lifecycle."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Flask, current_app
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from shopify_app.platform.db import is_postgresql
from shopify_app.platform.errors import NotFound
from shopify_app.platform.extensions import db
from shopify_app.platform.models import MailchimpConnection, ProgramSettings, Shop
from shopify_app.platform.models.base import utcnow
from shopify_app.platform.shopify.tokens import TokenGrant, apply_grant

T = TypeVar("T")
#: app.extensions key of the work that follows an install (the platform names no capability).
INSTALL_HOOKS = "shop_installed"


def on_installed(app: Flask, hook: Callable[[Shop], object]) -> None:
    """Have `hook(shop)` run after a shop's install is committed (capabilities register)."""
    app.extensions.setdefault(INSTALL_HOOKS, []).append(hook)


def announce_installed(shop: Shop) -> None:
    """Run what follows an install (the initial customer sync); call after the commit."""
    for hook in current_app.extensions.get(INSTALL_HOOKS, []):
        hook(shop)


def lock_shop(shop: Shop) -> int | None:
    """Serialise work on one shop's data (confirms, erasure, an export's publish).

    FOR NO KEY UPDATE: it waits for another lock of the same row, but not for the key-share
    locks that inserts of rows pointing at the shop take (webhook intake never waits on it).
    SQLite takes its database-wide write lock by writing. Returns None if the shop is gone.
    """
    if is_postgresql():
        return db.session.execute(
            select(Shop.id).where(Shop.id == shop.id).with_for_update(key_share=True)
        ).scalar_one_or_none()
    result = db.session.execute(update(Shop).where(Shop.id == shop.id).values(id=Shop.id))
    return shop.id if result.rowcount else None


def get_shop(domain: str) -> Shop | None:
    return db.session.execute(select(Shop).where(Shop.domain == domain)).scalar_one_or_none()


def install_shop(domain: str, grant: TokenGrant) -> Shop:
    """Create or revive the shop with a fresh offline token; the caller commits."""
    shop = get_shop(domain)
    if shop is None:
        shop = Shop(domain=domain, name=domain.removesuffix(".myshopify.com"))
        db.session.add(shop)
    if shop.uninstalled_at is not None:
        shop.installed_at = None
    apply_grant(shop, grant)
    db.session.flush()
    if db.session.get(ProgramSettings, shop.id) is None:
        db.session.add(ProgramSettings(shop_id=shop.id))
    if shop.sync_status == "idle":
        shop.sync_status = "queued"
    return shop


def uninstall_shop(shop: Shop) -> None:
    """Forget the tokens and mark the shop uninstalled; its data stays until shop/redact."""
    shop.access_token_encrypted = None
    shop.access_token_expires_at = None
    shop.refresh_token_encrypted = None
    shop.refresh_token_expires_at = None
    shop.uninstalled_at = utcnow()
    # The merchant's Mailchimp access goes with the app (they reconnect after reinstalling).
    db.session.execute(delete(MailchimpConnection).where(MailchimpConnection.shop_id == shop.id))


def row_of_shop(model: type[T], shop: Shop) -> T:
    """The shop's one row of a table keyed by `shop_id`, created with its defaults on first
    use; a concurrent first use finds the row the other request inserted."""
    row = db.session.get(model, shop.id)
    if row is None:
        row = model(shop_id=shop.id)  # type: ignore[call-arg]
        try:
            with db.session.begin_nested():
                db.session.add(row)
        except IntegrityError:
            row = db.session.get(model, shop.id)
            assert row is not None
    return row


def get_for_shop_or_404(model: type[T], id_: int, shop: Shop) -> T:
    """Load a row by id within the shop; another shop's row is as absent as a missing one."""
    row = db.session.execute(
        select(model).where(model.id == id_, model.shop_id == shop.id)  # type: ignore[attr-defined]
    ).scalar_one_or_none()
    if row is None:
        raise NotFound(f"{model.__name__} {id_} not found")
    return row


def shop_zone(shop: Shop | None) -> ZoneInfo:
    """The shop's IANA time zone, UTC when it has none or an unknown one."""
    try:
        return ZoneInfo(getattr(shop, "timezone", None) or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")
