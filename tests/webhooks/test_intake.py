"""POST /webhooks: verified before anything, stored once, queued, answered fast."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from shopify_app.platform.extensions import db
from shopify_app.platform.models import Customer, WebhookEvent
from tests.helpers import run_jobs, sign_webhook


def _events() -> int:
    return db.session.execute(select(func.count()).select_from(WebhookEvent)).scalar_one()


def _payload(shopify_double, shop, **fields):
    customer = shopify_double.add_customer(
        shop.domain, first_name="Ada", last_name="Lovelace", email="ada@example.com", **fields
    )
    return customer, shopify_double.customer_payload(shop.domain, customer)


def test_valid_delivery_is_stored_and_processed(app, client, shop, shopify_double):
    _, payload = _payload(shopify_double, shop)
    body, headers = sign_webhook(shopify_double, "customers/create", shop.domain, payload)
    response = client.post("/webhooks", data=body, headers=headers)
    assert response.status_code == 200
    assert response.json["result"] == "accepted"
    run_jobs(app)
    db.session.expire_all()
    customer = db.session.execute(select(Customer)).scalar_one()
    assert (customer.email, customer.is_member) == ("ada@example.com", True)
    assert db.session.execute(select(WebhookEvent.status)).scalar_one() == "processed"


def test_newer_shopify_header_names_are_accepted(app, client, shop, shopify_double):
    _, payload = _payload(shopify_double, shop)
    body, headers = sign_webhook(shopify_double, "customers/create", shop.domain, payload)
    renamed = {k.replace("X-Shopify-", "Shopify-"): v for k, v in headers.items()}
    assert client.post("/webhooks", data=body, headers=renamed).json["result"] == "accepted"


def _tampered(kind, body, headers):
    headers = dict(headers)
    if kind == "bad-hmac":
        headers["X-Shopify-Hmac-Sha256"] = "AAAA" + headers["X-Shopify-Hmac-Sha256"][4:]
    elif kind == "missing-hmac":
        headers.pop("X-Shopify-Hmac-Sha256")
    elif kind == "reserialised-body":
        body = json.dumps(json.loads(body), indent=2).encode()
    return body, headers


@pytest.mark.parametrize("kind", ["bad-hmac", "missing-hmac", "reserialised-body"])
def test_unverified_delivery_is_401_and_stores_nothing(app, client, shop, shopify_double, kind):
    _, payload = _payload(shopify_double, shop)
    body, headers = _tampered(
        kind, *sign_webhook(shopify_double, "customers/create", shop.domain, payload)
    )
    response = client.post("/webhooks", data=body, headers=headers)
    assert response.status_code == 401
    run_jobs(app)
    assert _events() == 0
    assert db.session.execute(select(func.count()).select_from(Customer)).scalar_one() == 0


def test_unknown_topic_is_acknowledged_and_ignored(app, client, shop, shopify_double):
    body, headers = sign_webhook(shopify_double, "products/create", shop.domain, {"id": 1})
    response = client.post("/webhooks", data=body, headers=headers)
    assert response.status_code == 200 and response.json["result"].startswith("ignored")
    assert _events() == 0


def test_unknown_shop_is_acknowledged_and_ignored(app, client, shop, shopify_double):
    _, payload = _payload(shopify_double, shop)
    body, headers = sign_webhook(
        shopify_double, "customers/create", "stranger.myshopify.com", payload
    )
    response = client.post("/webhooks", data=body, headers=headers)
    assert response.status_code == 200 and response.json["result"].startswith("ignored")
    assert _events() == 0


def test_invalid_shop_header_is_400(app, client, shop, shopify_double):
    body, headers = sign_webhook(shopify_double, "customers/create", shop.domain, {"id": 1})
    headers["X-Shopify-Shop-Domain"] = "evil.com"
    assert client.post("/webhooks", data=body, headers=headers).status_code == 400
    assert _events() == 0


def test_same_delivery_three_times_has_one_effect(app, client, shop, shopify_double):
    _, payload = _payload(shopify_double, shop)
    body, headers = sign_webhook(shopify_double, "customers/create", shop.domain, payload)
    results = [
        client.post("/webhooks", data=body, headers=headers).json["result"] for _ in range(3)
    ]
    assert results == ["accepted", "duplicate", "duplicate"]
    run_jobs(app)
    assert _events() == 1
    assert db.session.execute(select(func.count()).select_from(Customer)).scalar_one() == 1


def test_event_id_is_the_fallback_dedupe_key(app, client, shop, shopify_double):
    _, payload = _payload(shopify_double, shop)
    body, headers = sign_webhook(shopify_double, "customers/create", shop.domain, payload)
    headers.pop("X-Shopify-Webhook-Id")
    first = client.post("/webhooks", data=body, headers=headers).json["result"]
    second = client.post("/webhooks", data=body, headers=headers).json["result"]
    assert (first, second) == ("accepted", "duplicate")


def test_only_post_is_answered_and_an_oversized_body_is_413(app, client, shop, shopify_double):
    response = client.get("/webhooks")
    assert (response.status_code, response.headers["Allow"]) == (405, "POST")
    body, headers = sign_webhook(shopify_double, "customers/create", shop.domain, {"id": 1})
    limit = app.config["MAX_WEBHOOK_BYTES"]
    app.config["MAX_WEBHOOK_BYTES"] = len(body) - 1
    try:
        response = client.post("/webhooks", data=body, headers=headers)
    finally:
        app.config["MAX_WEBHOOK_BYTES"] = limit
    assert response.status_code == 413
    assert response.json == {"error": "payload too large", "limit_bytes": len(body) - 1}
    assert _events() == 0


def test_other_paths_still_reach_flask(app, client, shop, shopify_double):
    """The endpoint sits in front of Flask: everything but /webhooks passes through."""
    assert client.post("/webhooks/", data=b"{}").status_code == 404
    page = client.get("/")
    assert "frame-ancestors" in page.headers["Content-Security-Policy"]  # Flask's hook ran
    body, headers = sign_webhook(shopify_double, "customers/create", shop.domain, {"id": 1})
    answer = client.post("/webhooks", data=body, headers=headers)
    assert answer.status_code == 200 and "Content-Security-Policy" not in answer.headers
