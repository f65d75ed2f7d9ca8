"""app/uninstalled forgets the token; the shop can install again."""

from __future__ import annotations

from shopify_app.extensions import db
from shopify_app.models import Shop
from tests.helpers import run_jobs, sign_webhook


def test_uninstall_then_reinstall(app, client, shop, shopify_double):
    body, headers = sign_webhook(
        shopify_double, "app/uninstalled", shop.domain, {"id": 1, "myshopify_domain": shop.domain}
    )
    assert client.post("/webhooks", data=body, headers=headers).status_code == 200
    run_jobs(app)
    db.session.expire_all()
    stored = db.session.get(Shop, shop.id)
    assert stored.uninstalled_at is not None
    assert stored.access_token_encrypted is None and stored.refresh_token_encrypted is None

    # The admin cannot use the old install: the next load re-installs by token exchange.
    token = shopify_double.session_token(shop.domain)
    response = client.get(f"/?shop={shop.domain}&embedded=1&id_token={token}")
    assert response.status_code == 200
    db.session.expire_all()
    reinstalled = db.session.get(Shop, shop.id)
    assert reinstalled.is_installed and reinstalled.uninstalled_at is None


def test_late_uninstall_delivery_does_not_undo_a_reinstall(app, client, shop, shopify_double):
    body, headers = sign_webhook(shopify_double, "app/uninstalled", shop.domain, {"id": 1})
    # The delivery was received before the shop reinstalled, but processed after.
    client.post("/webhooks", data=body, headers=headers)
    from datetime import timedelta

    from shopify_app.models import WebhookEvent

    event = db.session.query(WebhookEvent).one()
    stored = db.session.get(Shop, shop.id)
    stored.installed_at = event.received_at + timedelta(seconds=5)
    db.session.commit()
    run_jobs(app)
    db.session.expire_all()
    assert db.session.get(Shop, shop.id).is_installed
