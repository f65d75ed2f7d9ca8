"""Demo data for the double: many customers fast, and a stream of store activity as webhooks.

`bin/run` starts the double with a seeded demo shop; the stream then sends orders and customer
updates to the app's `/webhooks` like a live store, once the app answers.
"""

from __future__ import annotations

import logging
import random
import threading

import requests

from .server import ShopifyDouble
from .state import Customer

log = logging.getLogger(__name__)

FIRST_NAMES = [
    "Ava", "Noah", "Mia", "Liam", "Zoe", "Ethan", "Léa", "Lucas", "Sofia", "Mateo", "Aiko",
    "Hiro", "Amara", "Kofi", "Ingrid", "Lars", "Priya", "Arjun", "Chloé", "Hugo", "Nora",
    "Omar", "Yara", "Felix", "Elena", "Marco", "Isla", "Finn", "Maya", "Leo",
]  # fmt: skip
LAST_NAMES = [
    "Smith", "Johnson", "Martin", "Bernard", "Garcia", "Müller", "Rossi", "Tanaka", "Okafor",
    "Nguyen", "Kowalski", "Silva", "Dubois", "Larsen", "Patel", "Kim", "Cohen", "Novak",
    "Fischer", "Moreau", "Santos", "Ivanova", "Haddad", "Lindqvist", "O'Brien",
]  # fmt: skip
LOCALES = ["en", "en", "en", "fr", "de", "es"]
STATES = ["ENABLED"] * 6 + ["DISABLED", "DISABLED", "INVITED", "DECLINED"]


def seed_customers(double: ShopifyDouble, shop: str, count: int, *, seed: int = 7) -> int:
    """Add `count` customers with unique emails in one pass (no per-customer email scan)."""
    rng = random.Random(seed)
    with double.store.lock:
        shop_obj = double.store.shop(shop)
        start = len(shop_obj.customers)
        for n in range(start, start + count):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            now = double.store.clock.now()
            number = double.store.next_id("Customer")
            shop_obj.customers[number] = Customer(
                id=number,
                first_name=first,
                last_name=last,
                email=f"{first}.{last}.{n}@example.com".lower().replace("'", ""),
                state=rng.choice(STATES),
                locale=rng.choice(LOCALES),
                tags=["demo"],
                created_at=now,
                updated_at=now,
            )
    return count


class ActivityStream:
    """Orders and customer updates delivered to the app as signed webhooks, like a live store."""

    def __init__(
        self,
        double: ShopifyDouble,
        shop: str,
        *,
        backlog: int = 300,
        interval: float = 3.0,
        seed: int = 11,
    ) -> None:
        self.double = double
        self.shop = shop
        self.backlog = backlog
        self.interval = interval
        self.rng = random.Random(seed)
        self.stop = threading.Event()

    def start(self) -> None:
        threading.Thread(target=self._run, name="demo-activity", daemon=True).start()

    def _app_is_up(self) -> bool:
        try:
            requests.get(self.double.app_url + "/auth/session-token", timeout=2)
        except requests.RequestException:
            return False
        return True

    def _run(self) -> None:
        while not self.stop.wait(1.0):
            if self._app_is_up():
                break
        for _ in range(self.backlog):
            if self.stop.is_set():
                return
            self._safely(self.order)
        while not self.stop.wait(self.interval):
            self._safely(self.order if self.rng.random() < 0.7 else self.customer_update)

    def _safely(self, action) -> None:
        try:
            action()
        except Exception:
            log.exception("demo activity failed")

    def _random_customer_id(self) -> int:
        with self.double.store.lock:
            ids = list(self.double.store.shop(self.shop).customers)
        return self.rng.choice(ids)

    def order(self) -> None:
        """A paid order (sometimes refunded or cancelled later), sent as orders/paid."""
        total = f"{self.rng.randint(15, 240)}.{self.rng.randint(0, 99):02d}"
        order = self.double.add_order(
            self.shop,
            customer_id=self._random_customer_id(),
            total=total,
            notify_topics=("orders/paid",),
        )
        roll = self.rng.random()
        if roll < 0.05:
            self.double.cancel_order(self.shop, order["id"], notify=True)
        elif roll < 0.10:
            self.double.refund_order(self.shop, order["id"], amount="5.00", notify=True)

    def customer_update(self) -> None:
        """A customer signs in to their account for the first time (Guest → Member: Shopify
        sends customers/enable and customers/update) or is retagged (customers/update)."""
        customer_id = self._random_customer_id()
        if self.rng.random() < 0.5:
            self.double.sign_in_customer(self.shop, customer_id)
        else:
            self.double.update_customer(
                self.shop, customer_id, tags=["demo", "updated"], notify=True
            )
