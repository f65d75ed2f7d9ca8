"""A small client for Klaviyo's REST API: JSON:API bodies, the pinned `revision`, timeouts.

Every call names the private key (`Authorization: Klaviyo-API-Key …`). A 429 is waited out
for its `Retry-After` when that is short (the rate limits' one-second burst window) and
handed to the caller when long, so a sync records when to come back instead of holding a
worker; connection failures and 5xx are retried with the platform's one retry helper, then
reported as `KlaviyoUnavailable`. A 401 or 403 is the merchant's key, never retried.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import requests
from flask import current_app

from shopify_app.platform.retry import RetryPolicy, retry_call

JSON_API = "application/vnd.api+json"
#: the longest Retry-After the client sleeps through; longer ones go back to the caller.
MAX_INLINE_WAIT = 10.0
#: 429s waited out in a row before the caller is told to come back later.
MAX_THROTTLED_RETRIES = 6
HTTP_RETRY = RetryPolicy(attempts=3, first_delay=0.5, max_delay=2.0)


class KlaviyoError(Exception):
    """Klaviyo did not do what was asked; `message` is in the merchant's words."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail


class KeyRefused(KlaviyoError):
    """401: the key is wrong or was revoked."""


class ScopeMissing(KlaviyoError):
    """403: the key lacks a scope this call needs."""


class RateLimited(KlaviyoError):
    """429 with a Retry-After longer than a worker should wait."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"Klaviyo asked us to slow down for {retry_after:.0f} seconds.")
        self.retry_after = retry_after


class KlaviyoUnavailable(KlaviyoError):
    """Klaviyo could not be reached, or answered 5xx, on every attempt."""


class RequestRefused(KlaviyoError):
    """Any other 4xx: Klaviyo refused what was sent (its detail is logged, not shown)."""


class _ServerError(Exception):
    """A 5xx answer: retried like a dropped connection."""


class KlaviyoClient:
    """Calls to one Klaviyo account with its private key.

    Args:
        sleep: injectable for the benchmark's clock; tests use real time against the double.
    """

    def __init__(
        self,
        api_key: str,
        *,
        http: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        max_wait: float = MAX_INLINE_WAIT,
    ) -> None:
        config = current_app.config
        self.base = config["KLAVIYO_API_BASE"] + "/api"
        self.timeout = config["HTTP_TIMEOUT"]
        self.http = http or requests.Session()
        self.headers = {
            "Authorization": f"Klaviyo-API-Key {api_key}",
            "revision": config["KLAVIYO_REVISION"],
            "accept": JSON_API,
            "content-type": JSON_API,
        }
        self.sleep = sleep
        self.max_wait = max_wait
        #: 429 answers seen and seconds slept for them (the bench prints these).
        self.throttled = 0
        self.waited = 0.0

    def call(
        self, method: str, path: str, body: dict[str, Any] | str | None = None
    ) -> dict[str, Any]:
        """One API call (`body` a document, or its JSON text); the answer's JSON (empty for
        202 without a body)."""
        data = body if body is None or isinstance(body, str) else encode(body)
        throttled = 0
        while True:
            response = self._send(method, path, data)
            if response.status_code != 429:
                break
            self.throttled += 1
            throttled += 1
            retry_after = _seconds(response.headers.get("Retry-After"))
            if retry_after > self.max_wait or throttled > MAX_THROTTLED_RETRIES:
                raise RateLimited(retry_after)
            self.sleep(retry_after)
            self.waited += retry_after
        self._pace(response)
        if response.status_code == 401:
            raise KeyRefused("Klaviyo did not accept this API key.", _detail(response))
        if response.status_code == 403:
            raise ScopeMissing(
                "This API key lacks a permission the app needs: create a private key with "
                "full access to Accounts, Profiles, Lists, Events and Data Privacy.",
                _detail(response),
            )
        if response.status_code >= 400:
            raise RequestRefused("Klaviyo refused the update.", _detail(response))
        return response.json() if response.content else {}

    def _send(self, method: str, path: str, data: str | None) -> requests.Response:
        def attempt() -> requests.Response:
            response = self.http.request(
                method, self.base + path, data=data, headers=self.headers, timeout=self.timeout
            )
            if response.status_code >= 500:
                raise _ServerError(response.status_code)
            return response

        try:
            return retry_call(
                attempt,
                retry_on=(requests.ConnectionError, requests.Timeout, _ServerError),
                policy=HTTP_RETRY,
                sleep=self.sleep,
            )
        except (requests.RequestException, _ServerError) as error:
            raise KlaviyoUnavailable("Klaviyo could not be reached.", str(error)) from error

    def _pace(self, response: requests.Response) -> None:
        """Spent the steady window: wait for it to reset rather than collect a 429."""
        remaining = response.headers.get("RateLimit-Remaining")
        reset = _seconds(response.headers.get("RateLimit-Reset"))
        if remaining == "0" and reset <= self.max_wait:
            self.sleep(reset)
            self.waited += reset

    def account_name(self) -> str:
        """The account the key belongs to (the key check: `GET /api/accounts/`)."""
        data = self.call("GET", "/accounts/").get("data") or []
        attributes = (data[0].get("attributes") or {}) if data else {}
        return str((attributes.get("contact_information") or {}).get("organization_name") or "")

    def import_profiles(self, profiles: list[str]) -> str:
        """Start a profile bulk import job (at most 10,000 profiles, 5 MB); its id.

        Entries come JSON-encoded (`encode`): the caller measured them against the 5 MB
        limit, and they are not encoded a second time here.
        """
        body = _bulk("profile-bulk-import-job", "profiles", profiles)
        return str(self.call("POST", "/profile-bulk-import-jobs/", body)["data"]["id"])

    def create_events(self, groups: list[str]) -> str:
        """Start an event bulk-create job (at most 1,000 events, 5 MB); its id. Entries come
        JSON-encoded, as for `import_profiles`."""
        body = _bulk("event-bulk-create-job", "events-bulk-create", groups)
        return str(self.call("POST", "/event-bulk-create-jobs/", body)["data"]["id"])

    def request_profile_deletion(self, email: str) -> None:
        """Ask Klaviyo to delete the profiles with this email (Data Privacy API, 202): the
        deletion a customers/redact owes. Klaviyo deletes asynchronously and for good."""
        profile = {"type": "profile", "attributes": {"email": email}}
        body = {
            "data": {
                "type": "data-privacy-deletion-job",
                "attributes": {"profile": {"data": profile}},
            }
        }
        self.call("POST", "/data-privacy-deletion-jobs/", body)


def encode(document: Any) -> str:
    """Compact JSON, as the bodies are sent and measured."""
    return json.dumps(document, separators=(",", ":"))


def _bulk(job_type: str, attribute: str, entries: list[str]) -> str:
    """`{"data": {"type": job_type, "attributes": {attribute: {"data": [entries]}}}}`."""
    return (
        f'{{"data":{{"type":"{job_type}","attributes":{{"{attribute}":{{"data":['
        + ",".join(entries)
        + "]}}}}"
    )


def _seconds(value: str | None) -> float:
    try:
        return max(float(value or 1), 0.0)
    except ValueError:
        return 1.0


def _detail(response: requests.Response) -> str:
    try:
        errors = response.json().get("errors") or []
    except ValueError:
        return response.text[:200]
    return "; ".join(str(e.get("detail") or e.get("title")) for e in errors)
