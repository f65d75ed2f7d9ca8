"""Sample CSVs a merchant can download, fill in and upload; built from the shop's own customers.

Using real Shopify ids from the shop means the sample imports cleanly as it is, which is the
quickest way to see the whole flow (the demo shop relies on it).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from shopify_app.platform.extensions import db
from shopify_app.platform.models import Customer, Shop
from shopify_app.platform.models.imports import CONTACTS, EVENTS, PEOPLE, POINTS
from shopify_app.segments.store import get_or_create_segment

SAMPLE_CONTACTS = [
    ("Grace", "Hopper", "grace.hopper@example.com", "en", "Trade show"),
    ("Ada", "Lovelace", "ada.lovelace@example.com", "en-GB", "Newsletter"),
    ("Amélie", "Poulain", "amelie.poulain@example.com", "fr", "Instagram"),
    ("Jürgen", "Klein", "juergen.klein@example.com", "de", "Newsletter"),
    ("Sofía", "García", "sofia.garcia@example.com", "es", "Pop-up store"),
]

SAMPLE_TIERS = ("Gold", "Silver", "Bronze")


def sample_csv(shop: Shop, kind: str) -> str:
    """The sample file for `kind`, as text."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    if kind == POINTS:
        writer.writerow(["shopify_id", "points_to_add", "description"])
        ids = _customer_ids(shop)
        amounts = [(500, "Welcome bonus"), (250, "Birthday gift"), (100, "Survey reward")]
        for n, shopify_id in enumerate(list(ids) or [7012345678901, 7012345678902]):
            points, description = amounts[n % len(amounts)]
            writer.writerow([shopify_id, points, description])
    elif kind == EVENTS:
        writer.writerow(["shopify_id", "event_name", "timestamp", "event_id", "product"])
        ids = list(_customer_ids(shop)) or [7012345678901, 7012345678902]
        events = [
            ("review_posted", "2026-03-01T14:30:00Z", "Linen shirt"),
            ("newsletter_signup", "2026-03-02 09:15", ""),
            ("store_visit", "2026-03-04", "Flagship store"),
        ]
        for n, shopify_id in enumerate(ids):
            name, timestamp, product = events[n % len(events)]
            writer.writerow([shopify_id, name, timestamp, f"sample-{n + 1}", product])
    elif kind == CONTACTS:
        writer.writerow(["First Name", "Last Name", "Email", "Locale", "Source"])
        writer.writerows(SAMPLE_CONTACTS)
    elif kind == PEOPLE:
        writer.writerow(["email", "tier", "last_order_date", "total_orders", "newsletter"])
        emails = db.session.execute(
            select(Customer.email)
            .where(
                Customer.shop_id == shop.id,
                Customer.email.is_not(None),
                Customer.deleted_at.is_(None),
            )
            .order_by(Customer.id)
            .limit(5)
        ).scalars()
        for n, email in enumerate(list(emails) or [row[2] for row in SAMPLE_CONTACTS]):
            tier, last_order = SAMPLE_TIERS[n % 3], f"2026-0{n + 1}-15"
            writer.writerow([email, tier, last_order, 3 * n + 1, "yes" if n % 2 else "no"])
    else:
        raise ValueError(f"no sample for {kind!r}")
    return buffer.getvalue()


def _customer_ids(shop: Shop) -> list[int]:
    """Shopify ids of the shop's first customers, so a sample imports as it is."""
    return list(
        db.session.execute(
            select(Customer.shopify_id)
            .where(
                Customer.shop_id == shop.id,
                Customer.shopify_id.is_not(None),
                Customer.deleted_at.is_(None),
            )
            .order_by(Customer.id)
            .limit(5)
        ).scalars()
    )


def seed_demo_imports(shop: Shop) -> str:
    """Give the demo shop a segment to import into and the sample files on disk."""
    get_or_create_segment(shop, "Newsletter sign-ups")
    folder = Path(current_app.config["IMPORT_DIR"]) / "samples"
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for kind in (POINTS, CONTACTS, PEOPLE, EVENTS):
        path = folder / f"sample-{kind}.csv"
        path.write_text(sample_csv(shop, kind), encoding="utf-8")
        written.append(str(path))
    return "sample CSVs: " + ", ".join(written)
