"""Enrol members asks first: the audience form leads to a confirmation that counts who joins
and who is emailed, and "send invitations now" is never ticked for the merchant.
"""

from __future__ import annotations

import html
import re

from sqlalchemy import func, select

from shopify_app.platform.extensions import db
from shopify_app.platform.models import (
    Customer,
    Invitation,
    InvitationBatch,
    Segment,
    SegmentMember,
)
from shopify_app.program.config import get_settings, join_program
from tests.helpers import run_jobs
from tests.pages import post_form, text_of
from tests.referrals.test_invitations import contact


def vip_segment(shop) -> tuple[Segment, dict[str, Customer]]:
    """Four members: one to invite, one joined already, one without email, one invited."""
    people = {
        "new": contact(shop, "new@example.com", first_name="Nia"),
        "joined": contact(shop, "joined@example.com", first_name="Jo"),
        "no_email": contact(shop, None, first_name="Nemo"),
        "invited": contact(shop, "invited@example.com", first_name="Ivy"),
    }
    contact(shop, "outsider@example.com")
    join_program(shop, people["joined"])
    db.session.add(
        Invitation(
            shop_id=shop.id,
            customer_id=people["invited"].id,
            email="invited@example.com",
            status="sent",
        )
    )
    segment = Segment(shop_id=shop.id, name="VIP")
    db.session.add(segment)
    db.session.flush()
    for person in people.values():
        db.session.add(SegmentMember(segment_id=segment.id, customer_id=person.id, shop_id=shop.id))
    db.session.commit()
    return segment, people


def audience_form(admin) -> tuple[str, dict[str, str], str]:
    """The settings page's audience form: method, its hidden fields, the checkbox."""
    page = admin.get("/program").get_data(as_text=True)
    form = re.search(
        r"<form method=\"(\w+)\" action=\"([^\"]+)\" data-confirm>(.*?)</form>", page, re.S
    )
    assert form, "no audience form marked data-confirm"
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form[3]))
    checkbox = re.search(r'<input type="checkbox"[^>]*name="send_invitations"[^>]*>', form[3])[0]
    return form[1], {"action": html.unescape(form[2]), **hidden}, checkbox


def test_enrol_asks_first_with_the_counts_and_changes_nothing_until_confirmed(
    admin, app, shop, inbox
):
    segment, people = vip_segment(shop)
    method, hidden, checkbox = audience_form(admin)
    assert method == "get" and hidden.pop("action").startswith("/program/audience")
    assert hidden["shop"] == shop.domain and hidden["id_token"]  # the session survives a GET form
    assert "checked" not in checkbox

    # The browser submits the GET form: its fields become the query.
    query = {**hidden, "segment_id": str(segment.id), "send_invitations": "1"}
    page = admin.client.get("/program/audience", query_string=query)
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    words = text_of(body)
    assert "Enrol the 4 members of VIP?" in words
    assert (
        "3 join the program and get a referral link, and 2 are emailed an invitation now." in words
    )
    assert "1 member has already joined." in words
    assert "No email address: 1" in words and "Already invited: 1" in words
    assert re.search(
        r'<button class="p-button p-button--critical" type="submit"[^>]*>'
        r"Enrol and send 2 invitations<",
        body,
    )
    action, fields = post_form(body)
    assert fields["segment_id"] == str(segment.id) and fields["send_invitations"] == "1"

    # Reading the confirmation changed nothing.
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(InvitationBatch)) == 0
    assert db.session.get(Customer, people["new"].id).joined_at is None
    assert get_settings(shop).audience_segment_id is None

    assert admin.post(action.split("?")[0], fields).status_code == 302
    run_jobs(app)
    db.session.expire_all()
    joined = db.session.scalars(
        select(Customer.id).where(Customer.shop_id == shop.id, Customer.joined_at.is_not(None))
    ).all()
    assert sorted(joined) == sorted(p.id for p in people.values())
    assert sorted(str(m["To"]) for m in inbox.messages) == [
        "Jo <joined@example.com>",
        "Nia <new@example.com>",
    ]


def test_enrol_without_sending_says_no_one_is_emailed(admin, app, shop, inbox):
    segment, _ = vip_segment(shop)
    body = admin.get("/program/audience", query_string={"segment_id": segment.id}).get_data(
        as_text=True
    )
    words = text_of(body)
    assert "Enrol the 4 members of VIP?" in words
    assert "3 join the program and get a referral link." in words
    assert "No one is emailed." in words
    _, fields = post_form(body)
    assert "send_invitations" not in fields
    admin.post("/program/audience", fields)
    run_jobs(app)
    assert inbox.messages == []


def test_enrol_confirmation_needs_a_segment_of_this_shop(admin, shop):
    response = admin.get("/program/audience")
    assert response.status_code == 302 and "/program" in response.headers["Location"]
    assert admin.get("/program/audience", query_string={"segment_id": 999}).status_code == 404


def test_send_invitations_now_is_not_ticked_for_the_merchant(admin, shop):
    vip_segment(shop)
    page = admin.get("/program").get_data(as_text=True)
    checkbox = re.search(r'<input type="checkbox"[^>]*name="send_invitations"[^>]*>', page)
    assert checkbox and "checked" not in checkbox[0]
