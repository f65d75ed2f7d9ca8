"""Expiring offline tokens: refreshed before expiry, once under concurrency, 401 → one retry."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from shopify_app.customers.sync import COUNT_QUERY
from shopify_app.platform.errors import ShopifyAuthError
from shopify_app.platform.extensions import db
from shopify_app.platform.models import Shop
from shopify_app.platform.models.base import utcnow
from shopify_app.platform.shopify.client import AdminClient
from shopify_app.platform.shopify.token_store import decrypt_token
from shopify_app.platform.shopify.tokens import access_token_for, refresh_tokens


def _refreshes(double) -> int:
    return sum(1 for r in double.token_requests if r["grant_type"] == "refresh_token")


def test_admin_api_401_leads_to_one_refresh_and_a_retry(shop, shopify_double):
    old_refresh = decrypt_token(shop.refresh_token_encrypted)
    shopify_double.expire_access_tokens(shop.domain)
    data = AdminClient(shop).execute(COUNT_QUERY)
    assert data["customersCount"]["count"] == 0
    assert _refreshes(shopify_double) == 1
    db.session.expire_all()
    stored = db.session.get(Shop, shop.id)
    assert decrypt_token(stored.refresh_token_encrypted) != old_refresh  # rotated and saved
    assert decrypt_token(stored.access_token_encrypted) in shopify_double.access_tokens(shop.domain)


def test_token_about_to_expire_is_refreshed_before_the_call(shop, shopify_double):
    shop.access_token_expires_at = utcnow() + timedelta(seconds=30)
    db.session.commit()
    token = access_token_for(shop)
    assert _refreshes(shopify_double) == 1
    assert token in shopify_double.access_tokens(shop.domain)


def test_revoked_tokens_fail_after_one_attempt_without_looping(shop, shopify_double):
    shopify_double.uninstall_app(shop.domain, notify=False)
    with pytest.raises(ShopifyAuthError):
        AdminClient(shop).execute(COUNT_QUERY)
    assert _refreshes(shopify_double) == 1


def test_concurrent_workers_refresh_once(app, shop, shopify_double):
    shop.access_token_expires_at = utcnow() + timedelta(seconds=30)
    db.session.commit()
    results: list[str] = []

    def worker() -> None:
        with app.app_context():
            results.append(refresh_tokens(shop.id))

    if db.engine.dialect.name == "postgresql":
        threads = [threading.Thread(target=worker) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    else:  # SQLite has no row locks; the second refresh must still find the fresh token.
        worker()
        worker()
    assert _refreshes(shopify_double) == 1
    assert len(set(results)) == 1 and results[0] in shopify_double.access_tokens(shop.domain)
