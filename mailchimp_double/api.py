"""Marketing API 3.0 under `/{dc}/3.0`: ping, lists, a list, its members.

Authentication, errors and limits as Mailchimp gives them: OAuth `Bearer` tokens or HTTP
Basic with an API key ending in `-<dc>` (the wrong data center is "API Key Invalid"), errors
as `application/problem+json`, at most 10 connections at once per account (the 11th is a
429) and no rate-limit headers; under heavy load a bare 403 without a body.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import socket
import time
import uuid
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, g, request

from .context import double
from .state import Account, Audience

bp = Blueprint("mailchimp_api", __name__, url_prefix="/<dc>/3.0")
MAX_CONNECTIONS = 10
MAX_COUNT = 1000
ERRORS_DOC = "https://mailchimp.com/developer/marketing/docs/errors/"
TOO_MANY = "You have exceeded the limit of 10 simultaneous connections."
BAD_KEY = "Your API key may be invalid, or you've attempted to access the wrong datacenter."


def problem(status: int, title: str, detail: str) -> Response:
    body = {
        "type": ERRORS_DOC,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": str(uuid.uuid4()),
    }
    return Response(json.dumps(body), status=status, mimetype="application/problem+json")


def _json(body: dict[str, Any]) -> Response:
    return Response(json.dumps(body, separators=(",", ":")), mimetype="application/json")


def _credential(dc: str) -> tuple[str | None, str | None]:
    """(login, None) for a good credential, else (None, why) for the 401."""
    store = double().store
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        return store.tokens.get(value.strip()), BAD_KEY
    if scheme.lower() in ("basic", "apikey"):
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None, BAD_KEY
        key = decoded.partition(":")[2] if ":" in decoded else decoded
        if not key.endswith(f"-{dc}"):
            return None, BAD_KEY
        return store.api_keys.get(key), BAD_KEY
    return None, "Your request did not include an API key."


def _fault() -> Response | None:
    """The next injected failure, if one is armed (counted down here)."""
    faults = double().store.faults
    if faults.heavy_load:
        faults.heavy_load -= 1
        return Response(b"", status=403)
    if faults.too_many:
        faults.too_many -= 1
        return problem(429, "Too Many Requests", TOO_MANY)
    if faults.server_errors:
        faults.server_errors -= 1
        return problem(faults.server_status, "Service Unavailable", "Please try again later.")
    return None


def authenticated(view: Callable[..., Response]) -> Callable[..., Response]:
    """Check the credential, hold one of the account's 10 connections, answer any fault."""

    @functools.wraps(view)
    def wrapper(dc: str, **kwargs: Any) -> Response:
        mc = double()
        with mc.store.lock:
            mc.store.calls.append((request.method, request.path, dict(request.args)))
            login, why = _credential(dc)
            if login is None:
                return problem(401, "API Key Invalid", why or BAD_KEY)
            account = mc.store.accounts[login]
            if account.dc != dc:
                return problem(401, "API Key Invalid", BAD_KEY)
            if account.in_flight >= MAX_CONNECTIONS:
                return problem(429, "Too Many Requests", TOO_MANY)
            account.in_flight += 1
            mc.store.max_in_flight = max(mc.store.max_in_flight, account.in_flight)
            fault = _fault()
            latency = mc.store.faults.latency
        try:
            if latency:
                time.sleep(latency)
            if fault is not None:
                return fault
            g.account = account
            return view(**kwargs)
        finally:
            with mc.store.lock:
                account.in_flight -= 1

    return wrapper


def _paths(param: str | None) -> list[list[str]]:
    return [part.strip().split(".") for part in (param or "").split(",") if part.strip()]


def _keep(value: Any, paths: list[list[str]]) -> Any:
    if isinstance(value, list):
        return [_keep(item, paths) for item in value]
    if not isinstance(value, dict):
        return value
    kept: dict[str, Any] = {}
    for key in dict.fromkeys(path[0] for path in paths):
        if key not in value:
            continue
        rest = [path[1:] for path in paths if path[0] == key]
        kept[key] = value[key] if any(not r for r in rest) else _keep(value[key], rest)
    return kept


def _drop(value: Any, paths: list[list[str]]) -> Any:
    if isinstance(value, list):
        return [_drop(item, paths) for item in value]
    if not isinstance(value, dict):
        return value
    out = dict(value)
    for path in paths:
        if len(path) == 1:
            out.pop(path[0], None)
    for key in {p[0] for p in paths if len(p) > 1}:
        if key in out:
            out[key] = _drop(out[key], [p[1:] for p in paths if p[0] == key and len(p) > 1])
    return out


def _shaped(body: dict[str, Any]) -> Response:
    """`fields` and `exclude_fields`, Mailchimp's partial responses."""
    if request.args.get("fields"):
        body = _keep(body, _paths(request.args["fields"]))
    if request.args.get("exclude_fields"):
        body = _drop(body, _paths(request.args["exclude_fields"]))
    return _json(body)


def _paging() -> tuple[int, int] | Response:
    try:
        count = int(request.args.get("count", 10))
        offset = int(request.args.get("offset", 0))
    except ValueError:
        return problem(400, "Invalid Resource", "count and offset must be integers.")
    if count > MAX_COUNT or count < 0 or offset < 0:
        return problem(
            400, "Invalid Resource", f"The count parameter must be between 0 and {MAX_COUNT}."
        )
    return count, offset


def _audience(account: Account, list_id: str) -> Audience | Response:
    audience = account.audiences.get(list_id)
    if audience is None:
        return problem(404, "Resource Not Found", "The requested resource could not be found.")
    return audience


@bp.get("/ping")
@authenticated
def ping() -> Response:
    return _json({"health_status": "Everything's Chimpy!"})


@bp.get("/lists")
@authenticated
def lists() -> Response:
    paging = _paging()
    if isinstance(paging, Response):
        return paging
    count, offset = paging
    with double().store.lock:
        audiences = list(g.account.audiences.values())
        page = [a.to_json() for a in audiences[offset : offset + count]]
    return _shaped(
        {
            "lists": page,
            "total_items": len(audiences),
            "constraints": {
                "may_create": True,
                "max_instances": 100,
                "current_total_instances": len(audiences),
            },
            "_links": [],
        }
    )


@bp.get("/lists/<list_id>")
@authenticated
def get_list(list_id: str) -> Response:
    with double().store.lock:
        audience = _audience(g.account, list_id)
        if isinstance(audience, Response):
            return audience
        body = audience.to_json()
    return _shaped(body)


@bp.get("/lists/<list_id>/members")
@authenticated
def members(list_id: str) -> Response:
    paging = _paging()
    if isinstance(paging, Response):
        return paging
    count, offset = paging
    status = request.args.get("status")
    mc = double()
    with mc.store.lock:
        audience = _audience(g.account, list_id)
        if isinstance(audience, Response):
            return audience
        faults = mc.store.faults
        if (
            faults.drop_after_pages is not None
            and mc.store.member_pages_served >= faults.drop_after_pages
            and faults.drops
        ):
            faults.drops -= 1
            _drop_connection()
            return problem(500, "Internal Server Error", "connection dropped")
        mc.store.member_pages_served += 1
        if status == "subscribed":
            chosen = [audience.members[i] for i in audience.subscribed[offset : offset + count]]
            total = len(audience.subscribed)
        elif status:
            matching = [m for m in audience.members if m.status == status]
            chosen, total = matching[offset : offset + count], len(matching)
        else:
            chosen = audience.members[offset : offset + count]
            total = len(audience.members)
        page = [m.to_json(audience.id, audience.created) for m in chosen]
    return _shaped({"members": page, "list_id": list_id, "total_items": total, "_links": []})


def _drop_connection() -> None:
    """Close the client's socket without an answer: a network failure, mid-paging."""
    sock = request.environ.get("werkzeug.socket")
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
