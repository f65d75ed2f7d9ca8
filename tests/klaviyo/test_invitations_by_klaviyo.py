"""When a Klaviyo flow sends the invitations the app emails no one, and its dialog says so."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import func, select

from shopify_app.integrations.klaviyo import connection
from shopify_app.platform.extensions import db
from shopify_app.platform.models import (
    Customer,
    Invitation,
    InvitationBatch,
    Segment,
    SegmentMember,
)
from tests.factories import make_contact
from tests.helpers import run_jobs
from tests.klaviyo.conftest import joined_events
from tests.referrals.conftest import Inbox, serving


@pytest.fixture
def inbox(app: Flask) -> Iterator[Inbox]:
    with serving(app) as handler:
        yield handler


def contacts(shop, *emails: str) -> list[Customer]:
    made = [make_contact(shop, email, first_name=email.split("@")[0].title()) for email in emails]
    db.session.commit()
    return made


def klaviyo_invites(shop, on: bool = True) -> None:
    assert connection.set_sends_invitations(shop, on)
    db.session.commit()


def test_the_invite_dialog_says_klaviyo_sends_them(admin, connected):
    klaviyo_invites(connected)
    people = contacts(connected, "ann@example.com", "bob@example.com")
    page = admin.get("/invitations/new", query_string={"customer_id": [p.id for p in people]})
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Klaviyo sends these invitations" in html and "the app sends no email" in html
    assert "Enrol and send to Klaviyo" in html and "Preview in English" not in html
    assert "Will be invited: 2" in html


def test_the_dialog_offers_the_apps_email_when_the_app_sends(admin, connected):
    people = contacts(connected, "ann@example.com")
    html = admin.get("/invitations/new", query_string={"customer_id": [people[0].id]}).get_data(
        as_text=True
    )
    assert "Klaviyo sends these invitations" not in html and "Preview in English" in html


def test_klaviyo_invites_enrol_and_reach_klaviyo_but_no_email_is_sent(
    app, admin, connected, klaviyo, inbox
):
    klaviyo_invites(connected)
    people = contacts(connected, "ann@example.com", "bob@example.com")
    assert admin.post("/invitations", {"customer_id": [p.id for p in people]}).status_code == 302
    run_jobs(app)
    assert inbox.messages == []
    db.session.expire_all()
    joined = db.session.scalars(select(Customer).where(Customer.joined_at.is_not(None))).all()
    assert {c.email for c in joined} == {"ann@example.com", "bob@example.com"}
    assert db.session.scalar(select(func.count()).select_from(Invitation)) == 0
    assert sorted(e.email for e in joined_events(klaviyo)) == ["ann@example.com", "bob@example.com"]
    batch = db.session.scalars(select(InvitationBatch)).one()
    assert batch.summary["enrolled"] == 2 and batch.summary["by_klaviyo"]
    page = admin.get(f"/invitations/batches/{batch.id}").get_data(as_text=True)
    assert "Sent by your Klaviyo flow; the app sent no email." in page

    # Back to the app: its email goes out again (the inbox above was listening).
    klaviyo_invites(connected, False)
    (cyd,) = contacts(connected, "cyd@example.com")
    admin.post("/invitations", {"customer_id": [cyd.id]})
    run_jobs(app)
    assert [m["To"] for m in inbox.messages] == ["Cyd <cyd@example.com>"]


def test_targeting_a_segment_says_klaviyo_sends_the_invitations(
    admin, connected, klaviyo, app, inbox
):
    klaviyo_invites(connected)
    people = contacts(connected, "seg1@example.com", "seg2@example.com")
    segment = Segment(shop_id=connected.id, name="VIPs")
    db.session.add(segment)
    db.session.flush()
    db.session.add_all(
        SegmentMember(shop_id=connected.id, segment_id=segment.id, customer_id=p.id) for p in people
    )
    db.session.commit()
    ask = admin.get(
        "/program/audience", query_string={"segment_id": segment.id, "send_invitations": "1"}
    )
    html = ask.get_data(as_text=True)
    assert "are sent to Klaviyo, whose flow sends the invitations" in html
    assert "Emails can't be recalled" not in html
    admin.post("/program/audience", {"segment_id": segment.id, "send_invitations": "1"})
    run_jobs(app)
    assert inbox.messages == []
    assert sorted(e.email for e in joined_events(klaviyo)) == [
        "seg1@example.com",
        "seg2@example.com",
    ]
