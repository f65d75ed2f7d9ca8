"""The Shopify admin and storefront around the app, as Playwright sees them in Chromium.

The admin loads the app with `?shop=…&host=…&id_token=…` and App Bridge's CDN script, whose
`shopify.idToken()` hands out a fresh session token each time. The CDN is out of reach, so
the browser context answers that script with a stand-in whose `idToken()` asks the Shopify
double to mint the token: the app's own `app.js` then signs links, forms and fetches as it
does in the admin. The storefront's `/apps/referrals/…` is forwarded like Shopify's app
proxy: signed by the double, answered by the app's `/proxy/…`, its Liquid shown in a page.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import requests
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Route

from shopify_double import ShopifyDouble

APP_BRIDGE = "https://cdn.shopify.com/shopifycloud/app-bridge.js"
#: App Bridge's API as far as app.js uses it; no `toast`, so flashes show in the page.
APP_BRIDGE_STAND_IN = "window.shopify = {idToken: () => window.__mintSessionToken()};"
PROXY_PREFIX = "/apps/referrals"
REFUSED_INPUT = "the server responded with a status of 422"
STOREFRONT_PAGE = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>'
    '<body><header><strong>{title}</strong></header><main id="theme">{body}</main></body></html>'
)


def chromium_args() -> list[str]:
    """Flags for Debian's chromium in a container (no sandbox, no GPU, no first-run noise)."""
    return ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars"]


def host_param(shop: str) -> str:
    """The `host` the admin adds: base64 of `admin.shopify.com/store/<handle>`."""
    handle = shop.removesuffix(".myshopify.com")
    return base64.urlsafe_b64encode(f"admin.shopify.com/store/{handle}".encode()).decode()


@dataclass
class Steps:
    """Numbered screenshots of one flow: artifacts/flows/<flow>/NN-<step>.png."""

    folder: Path
    taken: list[Path] = field(default_factory=list)

    def shot(self, page: Page, step: str, *, full_page: bool = False) -> Path:
        # A modal's opening animation first, so the picture shows where it lands (a busy
        # bar's endless one never ends).
        page.wait_for_function(
            "document.getAnimations().every(a => a.playState !== 'running'"
            " || a.effect.getComputedTiming().iterations === Infinity)"
        )
        path = self.folder / f"{len(self.taken) + 1:02d}-{step}.png"
        page.screenshot(path=path, full_page=full_page)
        self.taken.append(path)
        return path


class Admin:
    """A merchant in the embedded admin: one browser context, App Bridge standing in."""

    def __init__(self, browser: Browser, app_url: str, double: ShopifyDouble, shop: str) -> None:
        self.app_url = app_url.rstrip("/")
        self.shop = shop
        self.double = double
        self.context: BrowserContext = browser.new_context(
            viewport={"width": 1280, "height": 900}, accept_downloads=True
        )
        self.context.expose_function("__mintSessionToken", lambda: double.session_token(shop))
        self.context.route(APP_BRIDGE, self._app_bridge)
        self.console_errors: list[str] = []
        self.page = self.context.new_page()
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.console_errors.append(str(error)))

    @staticmethod
    def _app_bridge(route: Route) -> None:
        route.fulfill(status=200, content_type="text/javascript", body=APP_BRIDGE_STAND_IN)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.console_errors.append(message.text)

    def unexpected_errors(self) -> list[str]:
        """Console errors but Chromium's note of each 422: input the flow meant to be refused."""
        return [e for e in self.console_errors if REFUSED_INPUT not in e]

    def open(self, path: str) -> Page:
        """Open an app page as the admin frames it: shop, host and a fresh session token."""
        query = {
            "embedded": "1",
            "shop": self.shop,
            "host": host_param(self.shop),
            "id_token": self.double.session_token(self.shop),
        }
        self.page.goto(f"{self.app_url}{path}?{urlencode(query)}")
        return self.page

    def close(self) -> None:
        self.context.close()


class Storefront:
    """A shopper on the store: `/apps/referrals/…` goes through the app proxy to the app."""

    def __init__(
        self, browser: Browser, app_url: str, double: ShopifyDouble, shop: str, customer_id: int
    ) -> None:
        self.base = f"https://{shop}"
        self.app_url = app_url.rstrip("/")
        self.double = double
        self.shop = shop
        self.customer_id = customer_id
        self.context = browser.new_context(viewport={"width": 1000, "height": 900})
        self.context.route(f"{self.base}/**", self._forward)
        self.page = self.context.new_page()

    def _forward(self, route: Route) -> None:
        """What Shopify does: sign the query, ask the app, render its Liquid in the theme."""
        request = route.request
        url = urlsplit(request.url)
        if not url.path.startswith(f"{PROXY_PREFIX}/"):
            route.fulfill(status=200, content_type="text/html", body=f"<p>{url.path}</p>")
            return
        query = self.double.proxy_query(
            self.shop,
            PROXY_PREFIX,
            dict(parse_qsl(url.query)),
            logged_in_customer_id=self.customer_id,
        )
        answer = requests.request(
            request.method,
            f"{self.app_url}/proxy/{url.path.removeprefix(PROXY_PREFIX + '/')}",
            params=query,
            data=request.post_data,
            headers={"Content-Type": request.headers.get("content-type", "text/plain")},
            allow_redirects=False,
            timeout=15,
        )
        if answer.is_redirect:
            route.fulfill(
                status=answer.status_code, headers={"Location": answer.headers["Location"]}
            )
            return
        body = answer.text
        if answer.headers.get("Content-Type", "").startswith("application/liquid"):
            title = re.sub(r"\W+", " ", self.shop.removesuffix(".myshopify.com")).title()
            body = STOREFRONT_PAGE.format(title=title, body=body)
        route.fulfill(status=answer.status_code, content_type="text/html", body=body)

    def open(self, path: str) -> Page:
        self.page.goto(f"{self.base}{PROXY_PREFIX}{path}")
        return self.page

    def close(self) -> None:
        self.context.close()
