"""Fixtures for the Klaviyo integration: the Klaviyo double, a key for it, a connected shop."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select, update

from klaviyo_double import KlaviyoDouble
from shopify_app.integrations.klaviyo import connection
from shopify_app.integrations.klaviyo.sync import METRIC
from shopify_app.platform.extensions import db
from shopify_app.platform.models import Customer, KlaviyoConnection, Shop
from shopify_app.platform.models.base import utcnow
from shopify_app.program.config import join_program
from tests.factories import make_contact
from tests.helpers import deliver, run_jobs

KEY = "pk_test_0a1b2c3d4e5f60718293a4b5c6d7e8f9ab"


@pytest.fixture(scope="session")
def klaviyo_server() -> Iterator[KlaviyoDouble]:
    double = KlaviyoDouble()
    double.start()
    yield double
    double.stop()


@pytest.fixture
def klaviyo(app: Flask, klaviyo_server: KlaviyoDouble) -> Iterator[KlaviyoDouble]:
    """The double, emptied, with KEY on the "Test Store" account; the app points at it."""
    klaviyo_server.reset()
    klaviyo_server.add_key(KEY)
    previous = app.config["KLAVIYO_API_BASE"]
    app.config["KLAVIYO_API_BASE"] = klaviyo_server.base_url
    yield klaviyo_server
    app.config["KLAVIYO_API_BASE"] = previous
    if klaviyo_server._server is None:  # a test left it down
        klaviyo_server.come_up()
    klaviyo_server.reset()


@pytest.fixture
def connected(shop: Shop, klaviyo: KlaviyoDouble) -> Shop:
    """The test shop with KEY connected (checked against the double, as the page does)."""
    connection.connect(shop, KEY)
    db.session.commit()
    return shop


def enrol(shop: Shop, email: str, **fields) -> Customer:
    """A contact who joins the program (committed), as an invitation or targeting does."""
    customer = make_contact(shop, email, **fields)
    join_program(shop, customer)
    db.session.commit()
    return customer


def stored(shop: Shop) -> KlaviyoConnection | None:
    db.session.expire_all()
    return db.session.execute(
        select(KlaviyoConnection).where(KlaviyoConnection.shop_id == shop.id)
    ).scalar_one_or_none()


def joined_events(double: KlaviyoDouble, key: str = KEY):
    return double.events(key, METRIC)


def hour_passes(shop: Shop) -> None:
    """What an hour of backoff amounts to: the connection's retry time is now past."""
    db.session.execute(
        update(KlaviyoConnection)
        .where(KlaviyoConnection.shop_id == shop.id)
        .values(retry_at=utcnow() - timedelta(seconds=1))
    )
    db.session.commit()


def uninstall_and_redact(client, double, shop: Shop) -> None:
    """The merchant uninstalls, then Shopify's shop/redact arrives (delivered, not yet run)."""
    deliver(client, double, "app/uninstalled", shop.domain, {"id": 1})
    deliver(
        client,
        double,
        "shop/redact",
        shop.domain,
        double.compliance_payload("shop/redact", shop.domain),
    )


__all__ = [
    "KEY",
    "enrol",
    "hour_passes",
    "joined_events",
    "run_jobs",
    "stored",
    "uninstall_and_redact",
]
