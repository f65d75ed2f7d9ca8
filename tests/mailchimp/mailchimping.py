"""Helpers for Mailchimp tests: an account in the double, the merchant connecting it, a read."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import requests
from sqlalchemy import select

from mailchimp_double import MailchimpDouble
from shopify_app.platform.extensions import db
from shopify_app.platform.models import (
    Customer,
    MailchimpConnection,
    MailchimpFetch,
    Segment,
    SegmentMember,
)
from tests.helpers import AdminClient

LOGIN = "acme"


def add_account(double: MailchimpDouble, login: str = LOGIN, dc: str = "us6") -> str:
    """An account named after its login; returns its API key."""
    return double.add_account(login, dc=dc, name=f"{login.title()} Inc")


def connect(admin: AdminClient, double: MailchimpDouble) -> object:
    """The merchant clicks Connect Mailchimp, allows access, and lands back: the callback's
    response."""
    started = admin.post("/mailchimp/connect")
    assert started.status_code == 302, started.get_data(as_text=True)
    authorize = started.headers["Location"]
    assert authorize.startswith(double.oauth_base + "/oauth2/authorize?")
    approved = requests.get(authorize, allow_redirects=False, timeout=5)
    assert approved.status_code == 302, approved.text
    back = urlsplit(approved.headers["Location"])
    assert back.path == "/mailchimp/callback"
    return admin.client.get(back.path, query_string=parse_qs(back.query))


def connection(shop) -> MailchimpConnection | None:
    db.session.expire_all()
    return db.session.scalars(
        select(MailchimpConnection).where(MailchimpConnection.shop_id == shop.id)
    ).one_or_none()


def start_read(admin: AdminClient, audiences: list[str], **form) -> int:
    """Pick audiences on the Mailchimp page; returns the fetch id."""
    data = {"audiences": audiences, "segment_id": "new", "new_segment": "Mailchimp", **form}
    response = admin.post("/mailchimp/fetches", data)
    assert response.status_code == 302, response.get_data(as_text=True)
    location = response.headers["Location"]
    assert "/mailchimp/fetches/" in location, location
    return int(location.split("/mailchimp/fetches/")[1].split("?")[0])


def get_fetch(fetch_id: int) -> MailchimpFetch:
    db.session.expire_all()
    fetch = db.session.get(MailchimpFetch, fetch_id)
    assert fetch is not None
    return fetch


def members_of(segment_name: str) -> list[str]:
    """The segment's members' emails (a list: a doubled member would show twice)."""
    db.session.expire_all()
    return sorted(
        db.session.scalars(
            select(Customer.email_key)
            .join(SegmentMember, SegmentMember.customer_id == Customer.id)
            .join(Segment, Segment.id == SegmentMember.segment_id)
            .where(Segment.name == segment_name)
        )
    )
