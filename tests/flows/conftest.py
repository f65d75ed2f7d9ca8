"""Flows a merchant clicks through in Chromium (Playwright), on the suite's real parts.

The app is the suite's live server (PostgreSQL or SQLite, Redis), jobs run in real
`flask worker` processes, Shopify is the double and email goes to an aiosmtpd sink. Each
flow keeps a numbered screenshot of every step under artifacts/flows/<flow>/.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Browser, Playwright, sync_playwright

from tests.browser import chromium_path
from tests.flows.embedded import Admin, Steps, Storefront, chromium_args
from tests.referrals.conftest import Inbox, serving


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def chromium(playwright: Playwright) -> Iterator[Browser]:
    """Debian's chromium: Playwright's own browser download is not reachable."""
    browser = playwright.chromium.launch(executable_path=chromium_path(), args=chromium_args())
    yield browser
    browser.close()


@pytest.fixture
def admin_browser(chromium, live_server, shopify_double, shop) -> Iterator[Admin]:
    """The merchant of the `shop` fixture, signed in to the embedded admin."""
    admin = Admin(chromium, live_server.url, shopify_double, shop.domain)
    yield admin
    admin.close()


@pytest.fixture
def steps(artifacts) -> Callable[[str], Steps]:
    """A flow's screenshot folder, emptied first so a renamed step does not linger."""

    def folder_for(flow: str) -> Steps:
        folder = artifacts / "flows" / flow
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.png"):
            old.unlink()
        return Steps(folder)

    return folder_for


@pytest.fixture
def mail_sink(app) -> Iterator[Inbox]:
    """An aiosmtpd server; workers started while it runs send their email there."""
    with serving(app) as inbox:
        yield inbox


@pytest.fixture
def storefront(
    chromium, live_server, shopify_double, shop
) -> Iterator[Callable[[int], Storefront]]:
    """A shopper signed in to the shop's storefront (its app proxy leads to the app)."""
    opened: list[Storefront] = []

    def signed_in(shopify_customer_id: int) -> Storefront:
        store = Storefront(
            chromium, live_server.url, shopify_double, shop.domain, shopify_customer_id
        )
        opened.append(store)
        return store

    yield signed_in
    for store in opened:
        store.close()
