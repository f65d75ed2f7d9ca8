"""A small GraphQL Admin API client: pinned version, timeouts, cost-aware backoff, one re-auth.

ShopifyAPI's `GraphQL().execute` has no timeout and keeps its session in class-level state
shared across threads, so workers use this client instead.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import requests
from flask import current_app

from shopify_app.platform.errors import ShopifyAPIError, ShopifyAuthError, ShopNotInstalled
from shopify_app.platform.models import Shop
from shopify_app.platform.shopify.tokens import access_token_for, refresh_tokens, shop_base_url

MAX_THROTTLE_RETRIES = 8
MAX_HTTP_RETRIES = 4
#: points a standard shop's bucket restores per second (Shopify's documented rate), assumed
#: when an answer carries no `throttleStatus.restoreRate`.
STANDARD_RESTORE_RATE = 100.0


class ThrottledError(ShopifyAPIError):
    """Shopify kept answering THROTTLED past our retry budget."""


class AdminClient:
    """GraphQL Admin API client for one shop.

    Args:
        shop: the tenant; its stored offline token authenticates the calls.
        sleep: injectable for the benchmark; tests use real time against the double.
        timeout, http_retries: tighter bounds for a call a person waits on (a shopper's
            redeem) than the worker's defaults (`HTTP_TIMEOUT`, MAX_HTTP_RETRIES).
    """

    def __init__(
        self,
        shop: Shop,
        *,
        http: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        timeout: float | None = None,
        http_retries: int = MAX_HTTP_RETRIES,
    ) -> None:
        config = current_app.config
        self.shop = shop
        self.url = (
            f"{shop_base_url(shop.domain)}/admin/api/{config['SHOPIFY_API_VERSION']}/graphql.json"
        )
        self.timeout = config["HTTP_TIMEOUT"] if timeout is None else timeout
        self.http_retries = http_retries
        self.http = http or requests.Session()
        self.sleep = sleep
        self.last_cost: dict[str, Any] | None = None

    def execute(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """Run a query or mutation and return its `data`; raise ShopifyAPIError on errors."""
        token = access_token_for(self.shop)
        reauthed = False
        throttled = 0
        http_failures = 0
        while True:
            try:
                response = self.http.post(
                    self.url,
                    json={"query": query, "variables": variables or {}},
                    headers={"X-Shopify-Access-Token": token, "Accept": "application/json"},
                    timeout=self.timeout,
                )
            except requests.RequestException as error:
                http_failures += 1
                if http_failures > self.http_retries:
                    raise ShopifyAPIError(f"Admin API unreachable: {error}") from error
                self.sleep(min(2**http_failures * 0.25, 8))
                continue

            if response.status_code == 401:
                if reauthed:
                    raise ShopifyAuthError("Admin API refused a freshly refreshed token")
                reauthed = True
                try:
                    token = refresh_tokens(self.shop.id, force=True)
                except ShopNotInstalled as error:
                    raise ShopifyAuthError(str(error)) from error
                continue
            if response.status_code == 429 or response.status_code >= 500:
                http_failures += 1
                if http_failures > self.http_retries:
                    raise ShopifyAPIError(f"Admin API answered {response.status_code}")
                retry_after = response.headers.get("Retry-After")
                delay = float(retry_after) if retry_after else min(2**http_failures * 0.25, 8)
                self.sleep(delay)
                continue
            if response.status_code != 200:
                raise ShopifyAPIError(
                    f"Admin API answered {response.status_code}: {response.text[:200]}"
                )

            body = response.json()
            self.last_cost = (body.get("extensions") or {}).get("cost")
            errors = body.get("errors") or []
            if any((e.get("extensions") or {}).get("code") == "THROTTLED" for e in errors):
                throttled += 1
                if throttled > MAX_THROTTLE_RETRIES:
                    raise ThrottledError("Admin API stayed throttled")
                self.sleep(throttle_delay(self.last_cost))
                continue
            if errors:
                messages = "; ".join(str(e.get("message")) for e in errors)
                raise ShopifyAPIError(f"GraphQL errors: {messages}")
            return body.get("data") or {}


def throttle_delay(cost: dict[str, Any] | None) -> float:
    """Seconds until the bucket holds what the query asked for, from `extensions.cost`."""
    if not cost:
        return 1.0
    status = cost.get("throttleStatus") or {}
    needed = float(cost.get("requestedQueryCost") or 0) - float(
        status.get("currentlyAvailable") or 0
    )
    rate = float(status.get("restoreRate") or 0) or STANDARD_RESTORE_RATE
    return max(needed / rate, 0.05) + 0.05
