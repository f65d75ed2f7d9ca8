"""MailchimpDouble: the local stand-in for Mailchimp that tests and the demo run the app against.

One threaded HTTP server plays both of Mailchimp's hosts: `login.mailchimp.com` (OAuth 2 under
`/oauth2`) and every data center's API (`/{dc}/3.0`), so the app's real client code runs
unchanged with `MAILCHIMP_OAUTH_BASE` and `MAILCHIMP_API_BASE` pointing here. The Python
methods are the "marketer" side: accounts, audiences, members, and the faults a test injects.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from flask import Flask
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from . import api, oauth
from .state import Account, Audience, Faults, Member, Store, iso, subscriber_hash


class _QuietHandler(WSGIRequestHandler):
    """Keeps test output clean (a dropped connection is a fault we asked for)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None

    def log_error(self, format: str, *args: Any) -> None:
        return None


def create_app(double: MailchimpDouble) -> Flask:
    app = Flask(__name__)
    app.extensions["mailchimp_double"] = double
    app.register_blueprint(oauth.bp)
    app.register_blueprint(api.bp)
    app.add_url_rule("/health", "health", lambda: ("ok", 200, {"Content-Type": "text/plain"}))
    return app


class MailchimpDouble:
    """A faithful local Mailchimp for one OAuth app: accounts, audiences, members, limits."""

    def __init__(
        self,
        client_id: str = "dev-mailchimp-client",
        client_secret: str = "dev-mailchimp-secret",
        *,
        auto_approve: bool = True,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        #: redirect straight back with a code (tests); False shows the "Allow" page (demo).
        self.auto_approve = auto_approve
        #: the login the authorize page signs in as (None: the first account).
        self.signed_in: str | None = None
        self.store = Store()
        self.base_url = ""
        self.app = create_app(self)
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve in a background thread; returns the base URL (the real port when port=0)."""
        if self._server is not None:
            raise RuntimeError("the Mailchimp double is already running")
        self._server = make_server(
            host, port, self.app, threaded=True, request_handler=_QuietHandler
        )
        self.base_url = f"http://{host}:{self._server.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="mailchimp-double", daemon=True
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

    @property
    def oauth_base(self) -> str:
        """The app's `MAILCHIMP_OAUTH_BASE` for this double."""
        return self.base_url

    @property
    def api_base(self) -> str:
        """The app's `MAILCHIMP_API_BASE` for this double."""
        return self.base_url + "/{dc}/3.0"

    def reset(self) -> None:
        """Forget every account, token, call record and fault."""
        with self.store.lock:
            self.store.reset()
        self.signed_in = None

    # --- the marketer's side ---------------------------------------------------------------

    def add_account(
        self, login: str, *, dc: str = "us6", name: str | None = None, email: str | None = None
    ) -> str:
        """Create an account; returns an API key for it (`<hex>-<dc>`)."""
        with self.store.lock:
            if login in self.store.accounts:
                raise ValueError(f"account already exists: {login}")
            self.store.accounts[login] = Account(
                login=login,
                dc=dc,
                name=name or login.title(),
                email=email or f"{login}@example.com",
                user_id=len(self.store.accounts) + 1001,
            )
            key = f"{secrets.token_hex(16)}-{dc}"
            self.store.api_keys[key] = login
            return key

    def add_audience(self, login: str, name: str, *, list_id: str | None = None) -> str:
        """Create an audience (a "list" in the API); returns its id."""
        with self.store.lock:
            account = self.store.accounts[login]
            list_id = list_id or secrets.token_hex(5)
            self.store.next_web_id += 1
            account.audiences[list_id] = Audience(
                id=list_id, name=name, web_id=self.store.next_web_id, created=iso(datetime.now(UTC))
            )
            return list_id

    def add_members(self, login: str, list_id: str, members: Iterable[Mapping[str, Any]]) -> int:
        """Add members: dicts of email_address, status (default subscribed), first_name,
        last_name, language. Returns how many were added."""
        added = 0
        with self.store.lock:
            audience = self.store.accounts[login].audiences[list_id]
            for data in members:
                audience.add(
                    Member(
                        email_address=data.get("email_address", ""),
                        status=data.get("status", "subscribed"),
                        first_name=data.get("first_name", ""),
                        last_name=data.get("last_name", ""),
                        language=data.get("language", ""),
                    )
                )
                added += 1
        return added

    def generate_members(
        self, login: str, list_id: str, count: int, *, domain: str = "example.com", start: int = 0
    ) -> int:
        """`count` subscribed members with distinct addresses, fast (tests and the bench)."""
        languages = ("en", "fr", "de", "es", "")
        return self.add_members(
            login,
            list_id,
            (
                {
                    "email_address": f"member{n}@{domain}",
                    "first_name": f"First{n}",
                    "last_name": f"Last{n}",
                    "language": languages[n % len(languages)],
                }
                for n in range(start, start + count)
            ),
        )

    def issue_token(self, login: str) -> str:
        """An OAuth access token for the account, as the token endpoint would give."""
        token = secrets.token_hex(16)
        with self.store.lock:
            self.store.tokens[token] = login
        return token

    def revoke_tokens(self, login: str) -> int:
        """The marketer removes the app from their Mailchimp account: its tokens die."""
        with self.store.lock:
            dead = [t for t, owner in self.store.tokens.items() if owner == login]
            for token in dead:
                del self.store.tokens[token]
        return len(dead)

    def member_id(self, email: str) -> str:
        return subscriber_hash(email)

    # --- faults ----------------------------------------------------------------------------

    def heavy_load(self, calls: int) -> None:
        """The next `calls` API calls get a bare 403 without a body ("slow down")."""
        with self.store.lock:
            self.store.faults.heavy_load = calls

    def too_many_requests(self, calls: int) -> None:
        """The next `calls` API calls get 429 Too Many Requests."""
        with self.store.lock:
            self.store.faults.too_many = calls

    def server_errors(self, calls: int, status: int = 503) -> None:
        """The next `calls` API calls get a 5xx problem."""
        with self.store.lock:
            self.store.faults.server_errors = calls
            self.store.faults.server_status = status

    def drop_connections(self, after_pages: int, times: int = 1) -> None:
        """After `after_pages` member pages, the next `times` member reads lose their
        connection without an answer (a network failure mid-paging)."""
        with self.store.lock:
            self.store.faults.drop_after_pages = self.store.member_pages_served + after_pages
            self.store.faults.drops = times

    def set_latency(self, seconds: float) -> None:
        """Every API call waits this long while holding its connection."""
        with self.store.lock:
            self.store.faults.latency = seconds

    def clear_faults(self) -> None:
        with self.store.lock:
            self.store.faults = Faults()

    def member_reads(self, list_id: str | None = None) -> list[dict[str, str]]:
        """The query of each members call the app made, in order (answered or not)."""
        with self.store.lock:
            return [
                query
                for method, path, query in self.store.calls
                if path.endswith("/members") and (list_id is None or f"/lists/{list_id}/" in path)
            ]

    @property
    def max_in_flight(self) -> int:
        """The most connections one account held at once since the last reset."""
        return self.store.max_in_flight
