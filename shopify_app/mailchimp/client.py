"""A small Marketing API 3.0 client: one data center, a timeout on every call, retried slow-downs.

Mailchimp limits by concurrency (10 connections per account) and sends no rate-limit headers,
so "slow down" is read from the answer itself: a 429, a 5xx, or, under heavy load, a bare 403
without a JSON body. Those and network failures are retried with the platform's backoff; a
401 means the token or key is dead and is never retried.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import requests
from flask import current_app

from shopify_app.platform.errors import AppError
from shopify_app.platform.retry import RetryPolicy, retry_call

#: Mailchimp's largest page.
PAGE_SIZE = 1000
#: slow-downs and network failures: 0.5 s, 1 s, 2 s, 4 s, 8 s between six attempts.
BACKOFF = RetryPolicy(attempts=6, first_delay=0.5, max_delay=8.0)
MEMBER_FIELDS = (
    "members.email_address,members.status,members.merge_fields.FNAME,"
    "members.merge_fields.LNAME,members.language,total_items"
)
LIST_FIELDS = "lists.id,lists.name,lists.stats.member_count,total_items"


class MailchimpError(AppError):
    """Mailchimp refused or failed a call; the message is for the merchant."""


class MailchimpUnauthorized(MailchimpError):
    """401: the token was revoked or the API key is wrong: the merchant must reconnect."""


class MailchimpUnavailable(MailchimpError):
    """Mailchimp kept failing (slow-downs, 5xx, the network) past the retries."""


class _SlowDown(Exception):
    """A retryable answer: 429, 5xx, a bare 403, or no answer at all."""


def api_key_dc(api_key: str) -> str:
    """The data center an API key names (`…-us6` → `us6`)."""
    key, _, dc = api_key.strip().rpartition("-")
    if not key or not dc.isalnum():
        raise MailchimpUnauthorized(
            "That is not a Mailchimp API key: keys end in the data center, like …-us6."
        )
    return dc


class MailchimpClient:
    """Marketing API calls for one account, with a Bearer token (OAuth) or an API key."""

    def __init__(
        self,
        dc: str,
        *,
        token: str | None = None,
        api_key: str | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        config = current_app.config
        self.base = config["MAILCHIMP_API_BASE"].replace("{dc}", dc)
        self.timeout = float(config["HTTP_TIMEOUT"])
        #: what a 401 tells the merchant: reconnect (OAuth), or check the key (the command).
        self.refusal = "Mailchimp no longer accepts the app's access: reconnect Mailchimp."
        if token is not None:
            self.auth = f"Bearer {token}"
        else:
            basic = base64.b64encode(f"anystring:{api_key}".encode()).decode()
            self.auth = f"Basic {basic}"
            self.refusal = "Mailchimp does not accept this API key; check it and its data center."
        self.http = requests.Session()
        adapter = requests.adapters.HTTPAdapter(pool_connections=1, pool_maxsize=10)
        self.http.mount("http://", adapter)
        self.http.mount("https://", adapter)
        self.sleep = sleep
        #: how slow-downs are retried (a test may shorten the waits).
        self.policy = BACKOFF

    @classmethod
    def for_api_key(cls, api_key: str) -> MailchimpClient:
        return cls(api_key_dc(api_key), api_key=api_key.strip())

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        """GET a resource, retrying slow-downs; raises a MailchimpError subclass."""
        options: dict[str, Any] = {"retry_on": (_SlowDown,), "policy": self.policy}
        if self.sleep is not None:
            options["sleep"] = self.sleep
        try:
            return retry_call(lambda: self._get_once(path, params), **options)
        except _SlowDown as error:
            raise MailchimpUnavailable(
                f"Mailchimp did not answer after {self.policy.attempts} tries ({error}); "
                "the import goes on where it stopped once Mailchimp answers again."
            ) from error

    def _get_once(self, path: str, params: dict[str, Any]) -> dict[str, Any]:
        try:
            response = self.http.get(
                self.base + path,
                params=params,
                headers={"Authorization": self.auth, "Accept": "application/json"},
                timeout=self.timeout,
            )
        except requests.RequestException as error:
            raise _SlowDown(f"network: {type(error).__name__}") from error
        status = response.status_code
        if status == 200:
            return response.json()
        problem = _problem(response)
        if status == 429 or status >= 500 or (status == 403 and problem is None):
            raise _SlowDown(f"HTTP {status}")
        if status == 401:
            raise MailchimpUnauthorized(self.refusal)
        detail = (problem or {}).get("detail") or (problem or {}).get("title") or f"HTTP {status}"
        raise MailchimpError(f"Mailchimp refused the request: {detail}")

    def ping(self) -> None:
        self.get("/ping")

    def audiences(self) -> list[dict[str, Any]]:
        """Every audience as {id, name, members} (subscribed count), in Mailchimp's order."""
        found: list[dict[str, Any]] = []
        while True:
            page = self.get("/lists", count=PAGE_SIZE, offset=len(found), fields=LIST_FIELDS)
            found += [
                {"id": a["id"], "name": a["name"], "members": a["stats"]["member_count"]}
                for a in page.get("lists", [])
            ]
            if not page.get("lists") or len(found) >= page.get("total_items", 0):
                return found

    def audience(self, list_id: str) -> dict[str, Any]:
        data = self.get(f"/lists/{list_id}", fields="id,name,stats")
        stats = data.get("stats", {})
        return {
            "id": data["id"],
            "name": data["name"],
            "members": stats.get("member_count", 0),
            "unsubscribed": stats.get("unsubscribe_count", 0),
            "cleaned": stats.get("cleaned_count", 0),
        }

    def members_page(self, list_id: str, offset: int) -> dict[str, Any]:
        """One page of subscribed members from `offset`: {"members": [...], "total_items"}."""
        return self.get(
            f"/lists/{list_id}/members",
            status="subscribed",
            count=PAGE_SIZE,
            offset=offset,
            fields=MEMBER_FIELDS,
        )


def _problem(response: requests.Response) -> dict[str, Any] | None:
    """Mailchimp's problem+json body, or None for a bare answer."""
    if not response.content:
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None
