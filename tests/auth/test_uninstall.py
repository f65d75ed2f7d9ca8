"""app/uninstalled forgets the token; the shop can install again."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from shopify_app.platform.extensions import db
from shopify_app.platform.models import Shop, WebhookEvent
from tests.helpers import deliver, make_shop, run_jobs, sign_webhook


def _shop(shop_id: int) -> Shop:
    db.session.expire_all()
    return db.session.get(Shop, shop_id)


def test_uninstall_then_reinstall(app, client, shop, shopify_double):
    before = _shop(shop.id)
    assert before.is_installed and before.refresh_token_encrypted is not None
    body, headers = sign_webhook(
        shopify_double, "app/uninstalled", shop.domain, {"id": 1, "myshopify_domain": shop.domain}
    )
    assert client.post("/webhooks", data=body, headers=headers).status_code == 200
    run_jobs(app)
    stored = _shop(shop.id)
    assert stored.uninstalled_at is not None
    assert stored.access_token_encrypted is None and stored.refresh_token_encrypted is None

    # The admin cannot use the old install: the next load re-installs by token exchange.
    token = shopify_double.session_token(shop.domain)
    response = client.get(f"/?shop={shop.domain}&embedded=1&id_token={token}")
    assert response.status_code == 200
    reinstalled = _shop(shop.id)
    assert reinstalled.is_installed and reinstalled.uninstalled_at is None


def test_late_uninstall_delivery_does_not_undo_a_reinstall(app, client, shop, shopify_double):
    """A delivery received before the shop reinstalled but processed after leaves the new
    install alone; in the same drain, one received after its shop installed uninstalls it. A
    handler that did nothing would leave both installed; one without the check, neither."""
    on_time = make_shop(shopify_double, "gone-for-good.myshopify.com")
    deliver(client, shopify_double, "app/uninstalled", shop.domain, {"id": 1})
    deliver(client, shopify_double, "app/uninstalled", on_time.domain, {"id": 2})
    late = db.session.scalars(select(WebhookEvent).where(WebhookEvent.shop_id == shop.id)).one()
    reinstalled = _shop(shop.id)
    reinstalled.installed_at = late.received_at + timedelta(seconds=5)
    token = reinstalled.access_token_encrypted
    db.session.commit()

    run_jobs(app)

    kept, gone = _shop(shop.id), _shop(on_time.id)
    assert kept.is_installed and kept.access_token_encrypted == token
    assert not gone.is_installed
    assert gone.uninstalled_at is not None and gone.access_token_encrypted is None
