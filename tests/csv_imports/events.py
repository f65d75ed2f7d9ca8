"""Helpers for events import tests: the flow through the admin, and what was stored."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from shopify_app.platform.extensions import db
from shopify_app.platform.models import Customer, CustomerEvent, Shop
from shopify_app.program.config import get_settings
from tests.csv_imports.importing import confirm, csv_bytes, get_import, upload_ok
from tests.helpers import AdminClient, run_jobs

HEADER = ["shopify_id", "event_name", "timestamp", "event_id"]


def import_events(
    app, admin: AdminClient, rows: list[list[Any]], *, name: str = "events.csv", **form
) -> int:
    """Upload, confirm and run through a real RQ worker; returns the import id."""
    import_id = upload_ok(admin, csv_bytes(rows), name=name, kind="events", **form)
    response = confirm(admin, import_id)
    assert response.status_code == 302
    run_jobs(app)
    assert get_import(import_id).status == "done", get_import(import_id).summary
    return import_id


def events(shop: Shop) -> list[CustomerEvent]:
    db.session.expire_all()
    return list(
        db.session.execute(
            select(CustomerEvent)
            .where(CustomerEvent.shop_id == shop.id)
            .order_by(CustomerEvent.occurred_at, CustomerEvent.id)
        ).scalars()
    )


def customer_id(shop: Shop, shopify_id: int) -> int:
    return db.session.execute(
        select(Customer.id).where(Customer.shop_id == shop.id, Customer.shopify_id == shopify_id)
    ).scalar_one()


def earn_for(shop: Shop, **points: int) -> None:
    settings = get_settings(shop)
    settings.earn_events = True
    settings.event_points = points
    db.session.commit()
