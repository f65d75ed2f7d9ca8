"""KlaviyoDouble: the local stand-in for Klaviyo's API that tests, the bench and the demo use.

One threaded HTTP server speaks Klaviyo's `/api` wire format (see `api`), so the app's real
client runs unchanged with `KLAVIYO_API_BASE` pointing here. The Python methods are the
"Klaviyo account" side: keys with chosen scopes, what arrived, and injected faults (an
outage with connections refused or 503s, 429 storms).
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from html import escape
from typing import Any

from flask import Flask, Response, request
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from . import api
from .limits import RateLimiter
from .state import (
    ALL_SCOPES,
    DEMO_ACCOUNT,
    DEMO_KEY,
    Account,
    Deletion,
    Event,
    Key,
    Profile,
    Store,
)


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


def create_app(double: KlaviyoDouble) -> Flask:
    app = Flask(__name__)
    app.extensions["klaviyo_double"] = double
    app.register_blueprint(api.bp)
    app.add_url_rule("/", "events_page", lambda: double.events_page())
    app.add_url_rule("/_double/events", "events_page_alias", lambda: double.events_page())
    app.add_url_rule("/_double/received", "received", lambda: double.received_json())
    app.add_url_rule("/health", "health", lambda: ("ok", 200, {"Content-Type": "text/plain"}))
    return app


class KlaviyoDouble:
    """A faithful local Klaviyo: accounts, private keys with scopes, profiles, events, limits."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.store = Store()
        self.limiter = RateLimiter()
        self.app = create_app(self)
        self.base_url = ""
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._host, self._port = "127.0.0.1", 0
        self._faults: deque[tuple[int, int]] = deque()
        self._fault_until = 0.0
        self._fault_kind: tuple[int, int] | None = None
        self.reset()

    # -- serving -------------------------------------------------------------------------
    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve in a background thread; returns the base URL (the real port when port=0)."""
        if self._server is not None:
            raise RuntimeError("the Klaviyo double is already running")
        self._server = make_server(
            host, port, self.app, threaded=True, request_handler=_QuietHandler
        )
        self._host, self._port = host, self._server.port
        self.base_url = f"http://{host}:{self._port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="klaviyo-double", daemon=True
        )
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    # -- the account side ----------------------------------------------------------------
    def reset(self) -> None:
        """Forget every account, key, profile, event and fault; seed the demo account."""
        with self.lock:
            self.store = Store()
            self.limiter.reset()
            self._faults.clear()
            self._fault_until = 0.0
            self._fault_kind = None
            self.demo = self.store.add_account(DEMO_ACCOUNT)
            self.store.add_key(DEMO_KEY, self.demo)

    def add_key(
        self, key: str, *, account: str = "Test Store", scopes: frozenset[str] | None = None
    ) -> Account:
        """A private key on a new account (or the named existing one), with these scopes."""
        with self.lock:
            found = next((a for a in self.store.accounts.values() if a.name == account), None)
            target = found or self.store.add_account(account)
            self.store.add_key(key, target, ALL_SCOPES if scopes is None else scopes)
            return target

    def key(self, key: str) -> Key | None:
        with self.lock:
            return self.store.keys.get(key)

    def account(self, account_id: str) -> Account:
        with self.lock:
            return self.store.accounts[account_id]

    def account_of(self, key: str) -> Account:
        with self.lock:
            return self.store.accounts[self.store.keys[key].account_id]

    def profiles(self, key: str) -> dict[str, Profile]:
        with self.lock:
            return dict(self.account_of(key).profiles)

    def events(self, key: str, metric: str | None = None) -> list[Event]:
        with self.lock:
            events = list(self.account_of(key).events)
        return [e for e in events if metric is None or e.metric == metric]

    def deletions(self, key: str) -> list[Deletion]:
        """Data-privacy deletions the key's account received, in arrival order."""
        with self.lock:
            return list(self.account_of(key).deletions)

    def received(self, key: str) -> dict[str, Any]:
        """Counts of what arrived (duplicates included) and of duplicate events."""
        with self.lock:
            account = self.account_of(key)
            return {**account.received, "duplicate_events": account.duplicate_events}

    def received_json(self) -> Response:
        """`received` of `?key=`, with the profiles and events held: for a double in another
        process (the bench runs it apart, as Klaviyo is)."""
        key = request.args.get("key", DEMO_KEY)
        if self.key(key) is None:
            return Response('{"error": "unknown key"}', 404, content_type="application/json")
        with self.lock:
            account = self.account_of(key)
            body = {
                **self.received(key),
                "profiles": len(account.profiles),
                "events": len(account.events),
            }
        return Response(json.dumps(body), content_type="application/json")

    def arrival_log(self, key: str) -> list[tuple[str, str]]:
        with self.lock:
            return list(self.account_of(key).log)

    # -- faults --------------------------------------------------------------------------
    def fail_next(self, status: int = 503, n: int = 1, *, retry_after: int = 1) -> None:
        """The next n API requests answer `status` (429 carries `Retry-After`)."""
        with self.lock:
            self._faults.extend([(status, retry_after)] * n)

    def fail_for(self, seconds: float, status: int = 503, *, retry_after: int = 1) -> None:
        """Every API request answers `status` for a period (an outage, a 429 storm)."""
        with self.lock:
            self._fault_until = time.monotonic() + seconds
            self._fault_kind = (status, retry_after)

    def take_fault(self) -> tuple[int, int] | None:
        with self.lock:
            if self._fault_kind is not None and time.monotonic() < self._fault_until:
                return self._fault_kind
            if self._faults:
                return self._faults.popleft()
            return None

    def go_down(self) -> None:
        """Stop listening: connections are refused until `come_up` (state is kept)."""
        self.stop()

    def come_up(self) -> None:
        """Listen again on the same port."""
        self.start(self._host, self._port)

    # -- the demo's page -----------------------------------------------------------------
    def events_page(self) -> Response:
        """Profiles and events as they arrived, newest first, and the profiles deleted for data
        privacy, so the demo can watch them."""
        with self.lock:
            accounts = list(self.store.accounts.values())
            keys = list(self.store.keys.values())
        parts = [
            "<!doctype html><meta charset=utf-8><meta http-equiv=refresh content=5>",
            "<title>Klaviyo double</title><style>body{font:14px system-ui;margin:2em}"
            "table{border-collapse:collapse;margin-bottom:2em}td,th{border:1px solid #ccc;"
            "padding:4px 8px;text-align:left}code{font-size:12px}</style>",
            "<h1>Klaviyo double</h1>",
        ]
        for account in accounts:
            names = ", ".join(
                f"<code>{escape(k.key)}</code>" for k in keys if k.account_id == account.id
            )
            parts.append(
                f"<h2>{escape(account.name)}</h2><p>Keys: {names}. "
                f"{len(account.profiles):,} profiles, {len(account.events):,} events.</p>"
            )
            parts.append("<h3>Latest events</h3><table><tr><th>Time</th><th>Metric</th>")
            parts.append("<th>Profile</th><th>unique_id</th><th>Properties</th></tr>")
            for event in list(reversed(account.events))[:100]:
                parts.append(
                    f"<tr><td>{escape(event.time)}</td><td>{escape(event.metric)}</td>"
                    f"<td>{escape(event.email)}</td><td><code>{escape(event.unique_id)}</code>"
                    f"</td><td><code>{escape(str(event.properties))}</code></td></tr>"
                )
            parts.append("</table><h3>Latest profiles</h3><table><tr><th>Email</th>")
            parts.append("<th>Properties</th><th>Updated</th></tr>")
            latest = sorted(account.profiles.values(), key=lambda p: p.updated, reverse=True)
            for profile in latest[:100]:
                parts.append(
                    f"<tr><td>{escape(profile.email)}</td>"
                    f"<td><code>{escape(str(profile.properties))}</code></td>"
                    f"<td>{escape(profile.updated)}</td></tr>"
                )
            parts.append("</table><h3>Deleted profiles</h3>")
            if not account.deletions:
                parts.append("<p>None.</p>")
            else:
                parts.append("<table><tr><th>Requested</th><th>Identifier</th>")
                parts.append("<th>Profiles deleted</th><th>Events deleted</th></tr>")
                for deletion in reversed(account.deletions[-100:]):
                    parts.append(
                        f"<tr><td>{escape(deletion.requested)}</td>"
                        f"<td>{escape(deletion.identifier)}</td><td>{deletion.profiles}</td>"
                        f"<td>{deletion.events}</td></tr>"
                    )
                parts.append("</table>")
        return Response("".join(parts), content_type="text/html; charset=utf-8")
