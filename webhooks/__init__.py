"""POST /webhooks — verify, record, enqueue, answer — as a WSGI endpoint in front of Flask.

The HMAC is checked on the raw bytes before anything is parsed; the delivery is stored
(deduplicated on its webhook id) before it is queued, so a delivery that got a 2xx is never
lost even when Redis is down: the sweeper queues what is still waiting.

Why not a Flask view: a delivery needs none of Flask's request machinery (URL routing, the
request object, the admin pages' response hooks), and on a 2-core box that machinery was
about a fifth of the intake's CPU. Every other path goes on to Flask untouched.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

from flask import Flask
from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge
from werkzeug.wsgi import get_content_length, get_input_stream

from shopify_app.platform.extensions import is_database_unreachable
from shopify_app.platform.shopify.signatures import verify_webhook
from shopify_app.platform.sweeps import on_sweep
from webhooks.drain import sweep_webhooks
from webhooks.intake import WebhookDelivery, accept_delivery

log = logging.getLogger(__name__)
PATH = "/webhooks"
READ_CHUNK_BYTES = 64 * 1024
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def _header(environ: dict[str, Any], name: str) -> str | None:
    """Shopify's `X-Shopify-*` header, or the newer `Shopify-*` name where present."""
    key = name.upper().replace("-", "_")
    return environ.get(f"HTTP_X_SHOPIFY_{key}") or environ.get(f"HTTP_SHOPIFY_{key}")


def read_body(environ: dict[str, Any], limit: int) -> bytes:
    """The raw body, never more than `limit` bytes read; RequestEntityTooLarge past it.

    A `Content-Length` over the limit is refused before a byte is read. A chunked body has no
    length to check, so at most `limit + 1` bytes are read: the one byte too many refuses it
    without waiting for (or holding) the rest.
    """
    length = get_content_length(environ)
    if length is not None and length > limit:
        raise RequestEntityTooLarge()
    # limit + 1: werkzeug refuses a read *at* a maximum, which would refuse a body of exactly
    # `limit` bytes; the loop below stops after limit + 1 bytes either way.
    stream = get_input_stream(environ, max_content_length=limit + 1)
    chunks: list[bytes] = []
    size = 0
    while size <= limit:
        chunk = stream.read(min(READ_CHUNK_BYTES, limit + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    if size > limit:
        raise RequestEntityTooLarge()
    return b"".join(chunks)


def receive(app: Flask, environ: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """One delivery: (JSON answer, HTTP status)."""
    if environ.get("REQUEST_METHOD") != "POST":
        return {"error": "method not allowed"}, 405
    limit = app.config["MAX_WEBHOOK_BYTES"]
    try:
        body = read_body(environ, limit)
    except RequestEntityTooLarge:
        return {"error": "payload too large", "limit_bytes": limit}, 413
    except ClientDisconnected:
        return {"error": "incomplete body"}, 400
    if not verify_webhook(body, _header(environ, "Hmac-Sha256"), app.config["SHOPIFY_API_SECRET"]):
        return {"error": "invalid hmac"}, 401
    delivery = WebhookDelivery(
        topic=(_header(environ, "Topic") or "").strip().lower(),
        shop_domain=_header(environ, "Shop-Domain") or "",
        webhook_id=_header(environ, "Webhook-Id") or _header(environ, "Event-Id"),
        api_version=_header(environ, "API-Version"),
        triggered_at=_header(environ, "Triggered-At"),
        body=body,
    )
    with app.app_context():
        try:
            outcome, status = accept_delivery(delivery)
        except Exception as error:
            if not is_database_unreachable(error):
                raise
            # Nothing was stored, so nothing is acknowledged: Shopify retries a 503.
            log.warning("webhook not stored, database unreachable: %s", type(error).__name__)
            return {"error": "database unavailable"}, 503
    return {"result": outcome}, status


class WebhookEndpoint:
    """WSGI middleware: answers POST /webhooks itself, hands everything else to Flask."""

    def __init__(self, app: Flask, downstream: WSGIApp) -> None:
        self.app = app
        self.downstream = downstream

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]):
        if environ.get("PATH_INFO") != PATH:
            return self.downstream(environ, start_response)
        answer, status = receive(self.app, environ)
        body = json.dumps(answer).encode()
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        if status == 405:
            headers.append(("Allow", "POST"))
        start_response(f"{status} {HTTPStatus(status).phrase}", headers)
        return [body]


def init_app(app: Flask) -> None:
    app.wsgi_app = WebhookEndpoint(app, app.wsgi_app)  # type: ignore[method-assign]
    on_sweep(app, sweep_webhooks)
