"""Oversized bodies get 413 from Content-Length, and authentication comes before a body is read.

Over real HTTP with a raw socket: the request announces a huge body and sends a little of it.
A server that reads (or spools) the body would wait for the rest; the answer must come at once.
"""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from shopify_app.platform.extensions import db
from shopify_app.platform.models import ImportJob, WebhookEvent
from tests.helpers import sign_webhook

MB = 1024 * 1024
#: a server that waits for the announced body would still be waiting after this long.
PROMPT_SECONDS = 3.0
BOUNDARY = "limits-test-boundary"


class Answer:
    def __init__(self, raw: bytes, elapsed: float) -> None:
        head, _, self.body = raw.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        self.status = int(lines[0].split()[1])
        self.headers = {
            k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])
        }
        self.elapsed = elapsed

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> dict:
        return json.loads(self.body)


def _complete(received: bytes) -> bool:
    """The whole answer is in: its head and as many body bytes as its Content-Length says."""
    head, found, body = received.partition(b"\r\n\r\n")
    if not found:
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value)
    return False


def raw_request(base_url: str, head: str, body: bytes = b"") -> Answer:
    """Send `head` and `body` (which may be shorter than announced) and read the answer.

    The answer is read up to its Content-Length, not to EOF: werkzeug's dev server, once it
    has answered, drains what the client still sends before it closes the connection.
    """
    url = urlsplit(base_url)
    started = time.monotonic()
    with socket.create_connection((url.hostname, url.port), timeout=PROMPT_SECONDS) as sock:
        sock.sendall(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
        received = b""
        try:
            while not _complete(received) and (chunk := sock.recv(65536)):
                received += chunk
        except TimeoutError:
            pytest.fail(f"no answer within {PROMPT_SECONDS} s: the server waited for the body")
    return Answer(received, time.monotonic() - started)


def _stored_files(app) -> list[Path]:
    return [p for p in Path(app.config["IMPORT_DIR"]).rglob("*") if p.is_file()]


def _count(model) -> int:
    db.session.expire_all()
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def _multipart_start(token: str | None = None) -> bytes:
    """The first bytes of the import form's body (a token field, then the file part)."""
    parts = []
    if token:
        parts.append(
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="id_token"\r\n\r\n{token}\r\n'
        )
    parts.append(
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n'
        "Content-Type: text/csv\r\n\r\nshopify_id,points_to_add,description\r\n"
    )
    return "".join(parts).encode() + b"1,1,x\r\n" * 200


def _upload_head(path: str, length: int, accept: str = "text/html") -> str:
    return (
        f"POST {path} HTTP/1.1\nHost: 127.0.0.1\nAccept: {accept}\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\nContent-Length: {length}\n"
    )


@pytest.mark.parametrize("signed_in", [True, False], ids=["with-token", "without-token"])
def test_upload_over_the_limit_is_413_before_the_body_is_read(
    app, live_server, shop, shopify_double, signed_in
):
    token = shopify_double.session_token(shop.domain)
    query = f"?shop={shop.domain}&id_token={token}" if signed_in else f"?shop={shop.domain}"
    answer = raw_request(
        live_server.url, _upload_head("/imports" + query, 300 * MB), _multipart_start()
    )
    assert answer.status == 413, answer.text[:500]
    assert answer.elapsed < PROMPT_SECONDS
    assert "File too large" in answer.text and "larger than the 100 MB limit" in answer.text
    assert 'href="/static/polaris.css' in answer.text  # the styled page, not werkzeug's
    assert _stored_files(app) == [] and _count(ImportJob) == 0


def test_upload_over_the_limit_from_fetch_gets_json(app, live_server, shop, shopify_double):
    head = _upload_head("/imports", 300 * MB, accept="application/json")
    head += f"Authorization: Bearer {shopify_double.session_token(shop.domain)}\n"
    answer = raw_request(live_server.url, head, _multipart_start())
    assert answer.status == 413
    assert answer.json()["error"] == "payload too large"
    assert answer.json()["limit_bytes"] == app.config["MAX_UPLOAD_BYTES"] == 100 * MB


def test_unauthenticated_upload_under_the_limit_is_401_without_reading_it(
    app, live_server, shop, shopify_double
):
    """A token only inside the multipart body does not count: the body is never parsed."""
    token = shopify_double.session_token(shop.domain)
    head = _upload_head(f"/imports?shop={shop.domain}", 50 * MB)
    answer = raw_request(live_server.url, head, _multipart_start(token))
    assert answer.status == 401
    assert answer.elapsed < PROMPT_SECONDS
    assert _stored_files(app) == [] and _count(ImportJob) == 0


def test_other_forms_over_the_form_limit_are_413(app, live_server, shop):
    head = (
        "POST /imports/1/confirm HTTP/1.1\nHost: 127.0.0.1\nAccept: text/html\n"
        f"Content-Type: application/x-www-form-urlencoded\nContent-Length: {2 * MB}\n"
    )
    answer = raw_request(live_server.url, head, b"apply_with_errors=1&id_token=")
    assert answer.status == 413
    assert "Request too large" in answer.text and "1 MB" in answer.text


def test_the_import_page_states_the_limit_the_server_applies(app, admin, live_server, shop):
    app.config["MAX_UPLOAD_BYTES"] = 20 * MB
    try:
        assert "up to 20 MB and 2,000,000 rows" in admin.get("/imports").get_data(as_text=True)
        token = admin.token()
        path = f"/imports?shop={shop.domain}&id_token={token}"
        answer = raw_request(live_server.url, _upload_head(path, 30 * MB), _multipart_start())
    finally:
        app.config["MAX_UPLOAD_BYTES"] = 100 * MB
    assert answer.status == 413 and "larger than the 20 MB limit" in answer.text


def test_unsigned_webhook_over_5_mb_is_413_before_the_body_is_read(app, live_server, shop):
    head = (
        "POST /webhooks HTTP/1.1\nHost: 127.0.0.1\nContent-Type: application/json\n"
        f"X-Shopify-Topic: customers/create\nX-Shopify-Shop-Domain: {shop.domain}\n"
        f"Content-Length: {300 * MB}\n"
    )
    answer = raw_request(live_server.url, head, b'{"id": 1, "note": "' + b"x" * 4096)
    assert answer.status == 413 and answer.elapsed < PROMPT_SECONDS
    assert answer.json() == {"error": "payload too large", "limit_bytes": 5 * MB}
    assert _count(WebhookEvent) == 0


def _chunked(body: bytes, size: int = 256 * 1024) -> bytes:
    return b"".join(
        f"{len(part):x}\r\n".encode() + part + b"\r\n"
        for part in (body[i : i + size] for i in range(0, len(body), size))
    )


def test_chunked_webhook_is_cut_off_at_the_limit(app, live_server, shop, shopify_double):
    """No Content-Length to check: the endpoint reads limit + 1 bytes and stops there."""
    small, headers = sign_webhook(shopify_double, "shop/update", shop.domain, {"id": 1})
    head = "POST /webhooks HTTP/1.1\nHost: 127.0.0.1\nTransfer-Encoding: chunked\n" + "".join(
        f"{k}: {v}\n" for k, v in headers.items()
    )
    accepted = raw_request(live_server.url, head, _chunked(small) + b"0\r\n\r\n")
    assert accepted.status == 200, accepted.text  # a chunked delivery is read to its end
    # 5 MB and a bit, and no terminating chunk: the sender would go on for ever.
    endless = _chunked(b"x" * (5 * MB + 64 * 1024))
    answer = raw_request(live_server.url, head, endless)
    assert answer.status == 413 and answer.elapsed < PROMPT_SECONDS
    assert _count(WebhookEvent) == 0
