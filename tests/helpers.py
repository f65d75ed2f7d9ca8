"""Test helpers that read like the user: an admin who is signed in, Shopify signing things."""

from __future__ import annotations

import json
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from rq import SimpleWorker

from shopify_app.platform.extensions import db, queue, redis_conn
from shopify_app.platform.models import Shop
from shopify_app.platform.shopify.tokens import exchange_session_token
from shopify_app.platform.shops import install_shop
from shopify_double import ShopifyDouble

API_KEY = "test-api-key"
API_SECRET = "test-api-secret-0123456789abcdef-0123"


def make_shop(double: ShopifyDouble, domain: str, **shop_fields: Any) -> Shop:
    """Install a shop the way managed installation does: token exchange against the double."""
    double.add_shop(domain, **shop_fields)
    grant = exchange_session_token(domain, double.session_token(domain))
    shop = install_shop(domain, grant)
    db.session.commit()
    return shop


class AdminClient:
    """A merchant in the embedded admin: every request carries a fresh App Bridge token."""

    def __init__(self, client: FlaskClient, shop_domain: str, double: ShopifyDouble) -> None:
        self.client = client
        self.shop_domain = shop_domain
        self.double = double

    def token(self) -> str:
        return self.double.session_token(self.shop_domain)

    def get(self, path: str, *, fetch: bool = False, **kwargs: Any):
        """A document load (token in `id_token`) or a fetch (token in Authorization)."""
        if fetch:
            headers = {"Authorization": f"Bearer {self.token()}", **kwargs.pop("headers", {})}
            return self.client.get(path, headers=headers, **kwargs)
        query = dict(kwargs.pop("query_string", {}) or {})
        query.setdefault("shop", self.shop_domain)
        query["id_token"] = self.token()
        return self.client.get(path, query_string=query, **kwargs)

    def post(self, path: str, data: dict | None = None, **kwargs: Any):
        """A form post as the admin pages send it: the token in the action URL and the form."""
        token = self.token()
        form = dict(data or {})
        form["id_token"] = token
        query = {**(kwargs.pop("query_string", {}) or {}), "id_token": token}
        return self.client.post(path, data=form, query_string=query, **kwargs)


def sign_webhook(
    double: ShopifyDouble, topic: str, shop: str, payload: dict | bytes, **header_overrides: Any
) -> tuple[bytes, dict[str, str]]:
    """Body and headers of a delivery exactly as Shopify would send it."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = double.webhook_headers(topic, shop, body, **header_overrides)
    return body, headers


def run_jobs(app: Flask) -> None:
    """Drain the queue with a real RQ worker (in-process, burst mode)."""
    with app.app_context():
        SimpleWorker([queue()], connection=redis_conn()).work(burst=True)


def deliver(
    client: FlaskClient,
    double: ShopifyDouble,
    topic: str,
    shop: str,
    payload: dict | bytes,
    **header_overrides: Any,
) -> str:
    """POST a signed delivery to /webhooks through the test client; returns the outcome."""
    body, headers = sign_webhook(double, topic, shop, payload, **header_overrides)
    response = client.post("/webhooks", data=body, headers=headers)
    assert response.status_code == 200, response.data
    return response.json["result"]
