"""Fixtures for the referral engine: a real SMTP server, customers on both sides, orders."""

from __future__ import annotations

import asyncio
import contextlib
import re
import threading
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from shopify_app.platform.customer_store import ShopifyCustomer, upsert_shopify_customer
from shopify_app.platform.extensions import db
from shopify_app.platform.models import Customer, Shop
from shopify_double import ShopifyDouble
from tests.helpers import deliver, run_jobs
from tests.ports import free_port

LINK_RE = re.compile(r"https://[a-z0-9.-]+/apps/referrals/r/([A-Z0-9-]+)")


class Inbox:
    """An aiosmtpd handler that keeps every message, can refuse chosen recipients and can
    stall mid-batch (to look at a batch while it sends, or kill its worker then)."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        #: each message's envelope recipients (RCPT TO), in the order received.
        self.envelopes: list[list[str]] = []
        self.lock = threading.Lock()
        #: recipient → list of SMTP answers to give before accepting (e.g. "451 try later").
        self.refusals: dict[str, list[str]] = {}
        #: once this many messages arrived, the next RCPT waits until `resume` is set.
        self.pause_after: int | None = None
        self.paused = threading.Event()
        self.resume = threading.Event()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        with self.lock:
            answers = self.refusals.get(address.lower())
            if answers:
                return answers.pop(0)
            stall = self.pause_after is not None and len(self.messages) >= self.pause_after
        if stall and not self.resume.is_set():
            self.paused.set()
            await asyncio.get_running_loop().run_in_executor(None, self.resume.wait, 60)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        message = message_from_bytes(envelope.content, policy=policy.default)
        with self.lock:
            self.messages.append(message)  # type: ignore[arg-type]
            self.envelopes.append(list(envelope.rcpt_tos))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [m for m in self.messages if address.lower() in str(m["To"]).lower()]

    def link_code(self, message: EmailMessage) -> str:
        text = message.get_body(preferencelist=("plain",)).get_content()
        match = LINK_RE.search(text)
        assert match, text
        return match.group(1)


@contextlib.contextmanager
def serving(app: Flask, **options: Any) -> Iterator[Inbox]:
    """An aiosmtpd server on 127.0.0.1 for the block; the app's SMTP_URL points to it."""
    handler = Inbox()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, **options)
    controller.start()
    previous = app.config["SMTP_URL"]
    app.config["SMTP_URL"] = f"smtp://127.0.0.1:{port}"
    try:
        yield handler
    finally:
        handler.resume.set()
        app.config["SMTP_URL"] = previous
        controller.stop()


@pytest.fixture
def inbox(app: Flask) -> Iterator[Inbox]:
    """A mail server offering SMTPUTF8 (aiosmtpd's Controller does by default)."""
    with serving(app) as handler:
        yield handler


@pytest.fixture
def ascii_inbox(app: Flask) -> Iterator[Inbox]:
    """A mail server without SMTPUTF8, like many relays: international addresses bounce."""
    with serving(app, enable_SMTPUTF8=False) as handler:
        yield handler


def add_customer(
    double: ShopifyDouble, shop: Shop, *, email: str | None, first_name: str = "", **fields: Any
) -> Customer:
    """A customer in Shopify (the double) and in the app, as customers/create would store it."""
    record = double.add_customer(shop.domain, email=email, first_name=first_name, **fields)
    customer = upsert_shopify_customer(
        shop, ShopifyCustomer.from_rest(double.customer_payload(shop.domain, record["id"]))
    )
    db.session.commit()
    assert customer is not None
    return customer


def local(shop: Shop, customer_id: int) -> Customer:
    db.session.expire_all()
    return db.session.execute(
        select(Customer).where(Customer.id == customer_id, Customer.shop_id == shop.id)
    ).scalar_one()


def pay_order(
    client: FlaskClient,
    double: ShopifyDouble,
    app: Flask,
    shop: Shop,
    *,
    customer: Customer | None,
    codes: list[str] = (),  # type: ignore[assignment]
    total: str = "100.00",
    deliveries: int = 1,
) -> dict:
    """An order paid in Shopify and its `orders/paid` webhook processed by a real worker."""
    order = double.add_order(
        shop.domain,
        customer_id=customer.shopify_id if customer else None,
        discount_codes=list(codes),
        total=total,
    )
    for _ in range(deliveries):
        deliver(
            client, double, "orders/paid", shop.domain, double.order_payload(shop.domain, order)
        )
    run_jobs(app)
    db.session.expire_all()
    return order


def visit(
    client: FlaskClient, double: ShopifyDouble, shop: Shop, code: str, customer: Customer | None
):
    """Open a referral link through the app proxy, signed like Shopify signs it."""
    query = double.proxy_query(
        shop.domain,
        logged_in_customer_id=customer.shopify_id if customer else "",
    )
    return client.get(f"/proxy/r/{code}", query_string=query)


def visit_code(
    client: FlaskClient, double: ShopifyDouble, shop: Shop, code: str, customer: Customer | None
) -> str:
    """The referee discount code a visit hands out (from the storefront redirect)."""
    response = visit(client, double, shop, code, customer)
    assert response.status_code == 302, response.data
    location = response.headers["Location"]
    assert location.startswith(f"https://{shop.domain}/discount/"), location
    return location.split("/discount/")[1].split("?")[0]
