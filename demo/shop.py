"""The demo shop: seeded data and loopback-only session tokens, so `bin/run` shows real pages.

Demo session tokens live in the runtime (`platform/auth/demo_tokens.py`), since the guard
honours them on loopback in DEMO_MODE; everything else of the demo lives here, outside it.
"""

from __future__ import annotations

import random
import secrets
import time

from sqlalchemy import func, select

from shopify_app.customers.sync import start_sync
from shopify_app.customers.sync_jobs import queue_initial_sync
from shopify_app.platform.auth.demo_tokens import DEMO_SHOP, mint_demo_token
from shopify_app.platform.customer_store import email_fields
from shopify_app.platform.errors import ShopifyAPIError
from shopify_app.platform.extensions import db
from shopify_app.platform.models import Customer, Shop
from shopify_app.platform.models.base import utcnow
from shopify_app.platform.shopify.tokens import TokenGrant, exchange_session_token
from shopify_app.platform.shops import get_shop, install_shop

FIRST_NAMES = [
    "Ava",
    "Noah",
    "Mia",
    "Liam",
    "Zoe",
    "Ethan",
    "Léa",
    "Lucas",
    "Sofia",
    "Mateo",
    "Aiko",
    "Hiro",
    "Amara",
    "Kofi",
    "Ingrid",
    "Lars",
    "Priya",
    "Arjun",
    "Chloé",
    "Hugo",
    "Nora",
    "Omar",
    "Yara",
    "Felix",
    "Elena",
    "Marco",
    "Isla",
    "Finn",
    "Maya",
    "Leo",
]
LAST_NAMES = [
    "Smith",
    "Johnson",
    "Martin",
    "Bernard",
    "Garcia",
    "Müller",
    "Rossi",
    "Tanaka",
    "Okafor",
    "Nguyen",
    "Kowalski",
    "Silva",
    "Dubois",
    "Larsen",
    "Patel",
    "Kim",
    "Cohen",
    "Novak",
    "Fischer",
    "Moreau",
    "Santos",
    "Ivanova",
    "Haddad",
    "Lindqvist",
    "O'Brien",
]
LOCALES = ["en", "en", "en", "fr", "de", "es"]


def prepare_demo_shop(customers: int) -> tuple[Shop, str]:
    """Install the demo shop and start filling its customers; returns (shop, where from).

    With the Shopify double running (bin/run starts it), the shop installs by token exchange
    and its customers arrive through the real GraphQL sync, queued like a real install's (a
    worker runs it; without Redis it runs inline). Each run syncs afresh, so a second
    `bin/run` counts the store's customers once. Without the double they are seeded here.
    """
    try:
        grant = exchange_session_token(DEMO_SHOP, mint_demo_token())
    except ShopifyAPIError:
        shop = ensure_demo_shop()
        db.session.flush()
        added = seed_customers(shop, customers)
        shop.sync_status = "done"
        shop.synced_at = utcnow()
        return shop, f"seeded locally ({added} added; no Shopify double reachable)"
    shop = install_shop(DEMO_SHOP, grant)
    shop.name = "Demo Referrals Store"
    shop.email = "owner@demo-referrals.example"
    start_sync(shop, restart=True)
    db.session.commit()
    queue_initial_sync(shop)
    return shop, "syncing from the Shopify double through the Admin API"


def wait_for_sync(shop: Shop, timeout: float, interval: float = 0.2) -> str:
    """Wait for the queued sync (a worker's) to finish; returns its outcome for the console.

    The demo seeds referrals from the synced customers, so it needs them first.
    """
    deadline = time.monotonic() + timeout
    while True:
        db.session.expire(shop)
        if shop.sync_status == "done":
            return f"{shop.sync_done:,} customers synced"
        if shop.sync_status == "failed":
            return f"sync failed: {shop.sync_error}"
        if time.monotonic() > deadline:
            return f"sync still {shop.sync_status} after {timeout:.0f}s (is a worker running?)"
        db.session.rollback()  # a fresh snapshot on the next read
        time.sleep(interval)


def ensure_demo_shop() -> Shop:
    """The demo shop, installed with a local token the Shopify double also accepts."""
    shop = get_shop(DEMO_SHOP)
    if shop is None or not shop.is_installed:
        shop = install_shop(
            DEMO_SHOP, TokenGrant(access_token="shpat_demo_" + secrets.token_hex(8), scope="")
        )
        shop.name = "Demo Referrals Store"
        shop.email = "owner@demo-referrals.example"
    return shop


def seed_customers(shop: Shop, count: int, *, seed: int = 7) -> int:
    """Add `count` deterministic customers (about 60% Members); returns how many were added."""
    existing = db.session.execute(
        select(func.count()).select_from(Customer).where(Customer.shop_id == shop.id)
    ).scalar_one()
    rng = random.Random(seed)
    rows = []
    for n in range(existing, count):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        email = f"{first}.{last}.{n}@example.com".lower().replace("'", "")
        state = "ENABLED" if rng.random() < 0.6 else rng.choice(["DISABLED", "INVITED", "DECLINED"])
        rows.append(
            Customer(
                shop_id=shop.id,
                shopify_id=7_000_000_000 + n,
                first_name=first,
                last_name=last,
                locale=rng.choice(LOCALES),
                state=state,
                is_member=state == "ENABLED",
                **email_fields(email),
            )
        )
    db.session.add_all(rows)
    return len(rows)
