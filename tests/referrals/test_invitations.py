"""Invitations: the dialog, sending over real SMTP, locales, retries, resends, workers."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from shopify_app.invitations import jobs
from shopify_app.invitations.batches import create_batch, prepare_batch
from shopify_app.invitations.claims import claim_invitations
from shopify_app.invitations.jobs import sweep_invitations
from shopify_app.invitations.selection import Selection
from shopify_app.platform.extensions import db, queue
from shopify_app.platform.models import (
    Customer,
    Invitation,
    InvitationBatch,
    Segment,
    SegmentMember,
    Shop,
)
from shopify_app.platform.models.base import utcnow
from shopify_app.program import config as program
from shopify_app.program.config import join_program
from tests.factories import make_contact
from tests.helpers import make_shop, run_jobs
from tests.workers import ROOT, worker_env


def contact(shop, email, *, first_name="", locale=None, **fields) -> Customer:
    """A customer as contacts imports store them (no Shopify id needed to be invited)."""
    customer = make_contact(shop, email, first_name=first_name, locale=locale, **fields)
    db.session.commit()
    return customer


def batches():
    db.session.expire_all()
    return db.session.scalars(select(InvitationBatch).order_by(InvitationBatch.id)).all()


def invitation_of(customer) -> Invitation:
    db.session.expire_all()
    return db.session.scalars(select(Invitation).where(Invitation.customer_id == customer.id)).one()


def test_dialog_shows_who_is_invited_and_who_is_skipped_and_why(admin, shop):
    ok = contact(shop, "ok@example.com", first_name="Olga")
    no_email = contact(shop, None, first_name="Nemo")
    gone = contact(shop, "gone@example.com", unsubscribed=True)
    joined = contact(shop, "joined@example.com")
    join_program(shop, joined)
    invited = contact(shop, "invited@example.com")
    db.session.add(
        Invitation(shop_id=shop.id, customer_id=invited.id, email=invited.email, status="sent")
    )
    db.session.commit()

    ids = [c.id for c in (ok, no_email, gone, joined, invited)]
    page = admin.get("/invitations/new", query_string={"customer_id": ids})
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Will be invited: 1" in html and "ok@example.com" in html
    assert "Skipped: 4" in html
    for reason in ("No email address", "Unsubscribed", "Already joined", "Already invited"):
        assert reason in html
    assert "Olga" in html and "Send invitation" in html


def test_the_dialog_refuses_an_empty_or_foreign_selection(admin, shop, shopify_double):
    assert admin.get("/invitations/new").status_code == 400
    other = make_shop(shopify_double, "other-shop.myshopify.com")
    stranger = contact(other, "stranger@example.com")
    page = admin.get("/invitations/new", query_string={"customer_id": stranger.id})
    assert b"Will be invited: 0" in page.data and b"stranger@example.com" not in page.data
    segment = Segment(shop_id=other.id, name="Theirs")
    db.session.add(segment)
    db.session.commit()
    assert admin.get("/invitations/new", query_string={"segment_id": segment.id}).status_code == 404


def test_sending_does_not_block_the_request_and_shows_progress(admin, app, shop, inbox):
    people = [contact(shop, f"c{n}@example.com", first_name=f"C{n}") for n in range(25)]
    contact(shop, "zed@example.com", first_name="Zed")  # does not match the filter
    response = admin.post("/invitations", {"matching": "1", "q": "c"})
    assert response.status_code == 302
    [batch] = batches()
    assert (
        batch.status == "preparing"
        and db.session.scalar(select(func.count()).select_from(Invitation)) == 0
    )
    polled = admin.get(f"/invitations/batches/{batch.id}/progress.json", fetch=True).json
    assert polled["finished"] is False and polled["percent"] is None

    run_jobs(app)
    db.session.expire_all()  # the test client shares this session; a request would not
    polled = admin.get(f"/invitations/batches/{batch.id}/progress.json", fetch=True).json
    assert (polled["finished"], polled["percent"], polled["sent"]) == (True, 100.0, 25)
    assert len(inbox.messages) == 25
    assert {str(m["To"]).split("<")[1].rstrip(">") for m in inbox.messages} == {
        p.email for p in people
    }
    assert db.session.scalar(select(func.count()).where(Customer.joined_at.is_not(None))) == 25
    page = admin.get(f"/invitations/batches/{batch.id}")
    assert b"Done: 25 sent, 0 failed." in page.data
    # Asking again invites no one twice.
    admin.post("/invitations", {"matching": "1", "q": "c"})
    run_jobs(app)
    assert len(inbox.messages) == 25 and batches()[-1].total == 0


def test_emails_go_out_in_the_customers_locale_with_the_shops_as_fallback(app, admin, shop, inbox):
    french = contact(shop, "fr@example.com", first_name="Léa", locale="fr-CA")
    english = contact(shop, "en@example.com", first_name="Ava", locale="en")
    german = contact(shop, "de@example.com", first_name="Lars", locale="de")
    page = admin.get(
        "/invitations/new", query_string={"customer_id": [french.id, english.id, german.id]}
    )
    assert "Preview in Français (1 customer)" in page.get_data(as_text=True)
    assert "Preview in English (2 customers)" in page.get_data(as_text=True)
    admin.post("/invitations", {"customer_id": [french.id, english.id, german.id]})
    run_jobs(app)

    [fr] = inbox.to("fr@example.com")
    assert fr["Subject"] == f"{shop.name} vous invite à parrainer vos amis"
    assert fr["Content-Language"] == "fr"
    body = fr.get_body(preferencelist=("plain",)).get_content()
    assert "Bonjour Léa" in body and "10 % de réduction" in body and "10,00\u00a0$US" in body
    html = fr.get_body(preferencelist=("html",)).get_content()
    assert 'lang="fr"' in html and "Partager mon lien" in html
    [en] = inbox.to("en@example.com")
    assert en["Subject"] == f"{shop.name} invites you to refer a friend"
    assert "Hi Ava" in en.get_body(preferencelist=("plain",)).get_content()
    [de] = inbox.to("de@example.com")
    assert de["Subject"] == en["Subject"]  # no German email: the shop's language
    assert inbox.link_code(fr) == db.session.get(Customer, french.id).referral_code


def test_a_french_shop_falls_back_to_french(app, ctx, shopify_double, inbox):
    shop = make_shop(shopify_double, "boutique.myshopify.com", locale="fr", currency="EUR")
    shop.locale, shop.currency = "fr", "EUR"
    db.session.commit()
    german = contact(shop, "de@example.com", first_name="Lars", locale="de")
    batch = create_batch(shop, Selection(customer_ids=(german.id,)))
    db.session.commit()

    jobs.prepare_batch(batch.id)
    run_jobs(app)
    [message] = inbox.to("de@example.com")
    assert message["Subject"].endswith("vous invite à parrainer vos amis")
    # Babel (CLDR) writes French amounts with a no-break space before the symbol.
    assert "10,00\u00a0€ de réduction" in message.get_body(preferencelist=("plain",)).get_content()


def test_a_kuwaiti_shop_invites_with_three_decimal_dinars(app, ctx, shopify_double, inbox):
    shop = make_shop(shopify_double, "souq.myshopify.com")
    shop.currency = "KWD"
    program.get_settings(shop).reward_value = 5250  # minor units: 5.250 KWD
    db.session.commit()
    guest = contact(shop, "guest@example.com", first_name="Noor", locale="en")
    batch = create_batch(shop, Selection(customer_ids=(guest.id,)))
    db.session.commit()
    jobs.prepare_batch(batch.id)
    run_jobs(app)
    [message] = inbox.to("guest@example.com")
    for part in ("plain", "html"):
        body = message.get_body(preferencelist=(part,)).get_content()
        assert "you get KWD\u00a05.250 off your next order" in body
        assert "52.50" not in body


def test_a_temporary_failure_is_retried_with_backoff(app, admin, shop, inbox):
    flaky = contact(shop, "flaky@example.com")
    inbox.refusals["flaky@example.com"] = ["451 4.3.0 Try again later"]
    admin.post("/invitations", {"customer_id": flaky.id})
    run_jobs(app)

    invitation = invitation_of(flaky)
    assert (invitation.status, invitation.attempts) == ("queued", 1)
    assert "451" in invitation.error
    assert invitation.next_attempt_at > utcnow() + timedelta(seconds=20)
    assert batches()[0].status == "sending" and inbox.to("flaky@example.com") == []
    sweep_invitations()  # not due yet: nothing is queued
    run_jobs(app)
    assert invitation_of(flaky).status == "queued"

    db.session.execute(update(Invitation).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    sweep_invitations()
    run_jobs(app)
    invitation = invitation_of(flaky)
    assert (invitation.status, invitation.attempts) == ("sent", 2)
    assert len(inbox.to("flaky@example.com")) == 1 and batches()[0].status == "done"


def test_a_permanent_failure_is_recorded_and_resend_is_explicit(app, admin, shop, inbox):
    bounced = contact(shop, "bounced@example.com")
    inbox.refusals["bounced@example.com"] = ["550 5.1.1 No such user"]
    admin.post("/invitations", {"customer_id": bounced.id})
    run_jobs(app)
    invitation = invitation_of(bounced)
    assert invitation.status == "failed" and "550" in invitation.error
    [batch] = batches()
    assert (batch.status, batch.failed, batch.sent) == ("done", 1, 0)
    assert b"No such user" in admin.get(f"/invitations/batches/{batch.id}").data

    sweep_invitations()
    run_jobs(app)
    assert inbox.messages == []  # nothing re-sends a failed invitation by itself

    response = admin.post(f"/invitations/{invitation.id}/resend")
    assert response.status_code == 302
    run_jobs(app)
    assert invitation_of(bounced).status == "sent" and len(inbox.messages) == 1
    # Once it went out, a resend never repeats it.
    admin.post(f"/invitations/{invitation.id}/resend")
    run_jobs(app)
    assert len(inbox.messages) == 1 and invitation_of(bounced).status == "sent"


def test_resend_is_scoped_to_the_shop(admin, shop, shopify_double):
    other = make_shop(shopify_double, "other-shop.myshopify.com")
    stranger = contact(other, "stranger@example.com")
    theirs = Invitation(
        shop_id=other.id, customer_id=stranger.id, email=stranger.email, status="failed"
    )
    db.session.add(theirs)
    db.session.commit()
    assert admin.post(f"/invitations/{theirs.id}/resend").status_code == 404
    assert (
        admin.get(
            f"/invitations/batches/{999}",
        ).status_code
        == 404
    )


@pytest.mark.slow
def test_two_workers_on_one_batch_never_send_an_email_twice(app, shop, inbox):
    for n in range(300):
        make_contact(shop, f"w{n}@example.com", first_name=f"W{n}")
    db.session.commit()
    ids = db.session.scalars(select(Customer.id).where(Customer.shop_id == shop.id)).all()
    batch = create_batch(shop, Selection(customer_ids=tuple(ids)))
    db.session.commit()
    prepare_batch(shop, batch)
    db.session.commit()
    for part in range(6):  # more senders than workers: every claim is contended
        queue().enqueue("shopify_app.invitations.jobs.send_batch", batch.id, job_id=f"race-{part}")

    pair = [
        subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "app", "worker", "--burst"],
            cwd=ROOT,
            env=worker_env(app),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(2)
    ]
    try:
        for process in pair:
            assert process.wait(timeout=120) == 0
    finally:
        for process in pair:
            if process.poll() is None:
                process.kill()
                process.wait()

    recipients = [str(m["To"]) for m in inbox.messages]
    assert len(recipients) == 300 and len(set(recipients)) == 300
    db.session.expire_all()
    rows = db.session.execute(select(Invitation.status, Invitation.attempts)).all()
    assert {tuple(r) for r in rows} == {("sent", 1)}
    assert batches()[0].status == "done"


def test_claims_are_disjoint_between_sessions(app, shop):
    for n in range(50):
        make_contact(shop, f"d{n}@example.com")
    db.session.commit()
    ids = db.session.scalars(select(Customer.id)).all()
    batch = create_batch(shop, Selection(customer_ids=tuple(ids)))
    prepare_batch(shop, batch)
    db.session.commit()
    first = claim_invitations(shop, batch.id, 30)  # this transaction holds its rows
    with app.app_context():
        other_session_shop = db.session.get(Shop, shop.id)
        second = claim_invitations(other_session_shop, batch.id, 30)
        db.session.commit()
    db.session.commit()
    assert len(first) == 30 and len(second) == 20
    assert not {c.invitation_id for c in first} & {c.invitation_id for c in second}


def test_targeting_a_segment_enrols_its_members_and_invites_them(admin, app, shop, inbox):
    members = [
        contact(shop, "m1@example.com", first_name="M1"),
        contact(shop, "m2@example.com", first_name="M2", locale="fr"),
        contact(shop, None, first_name="NoMail"),
    ]
    outsider = contact(shop, "out@example.com")
    segment = Segment(shop_id=shop.id, name="VIP")
    db.session.add(segment)
    db.session.flush()
    for member in members:
        db.session.add(SegmentMember(segment_id=segment.id, customer_id=member.id, shop_id=shop.id))
    db.session.commit()

    response = admin.post("/program/audience", {"segment_id": segment.id, "send_invitations": "1"})
    assert response.status_code == 302
    run_jobs(app)

    db.session.expire_all()
    for member in members:
        fresh = db.session.get(Customer, member.id)
        assert fresh.joined_at is not None and fresh.referral_code
    assert db.session.get(Customer, outsider.id).joined_at is None
    assert sorted(str(m["To"]) for m in inbox.messages) == [
        "M1 <m1@example.com>",
        "M2 <m2@example.com>",
    ]
    [batch] = batches()
    assert batch.summary == {"skipped": {"no_email": 1}, "enrolled": 3, "invited": 2}
    assert db.session.get(Segment, segment.id).is_program_audience is True


def test_targeting_a_segment_without_sending_only_enrols(admin, app, shop, inbox):
    member = contact(shop, "solo@example.com")
    segment = Segment(shop_id=shop.id, name="Quiet")
    db.session.add(segment)
    db.session.flush()
    db.session.add(SegmentMember(segment_id=segment.id, customer_id=member.id, shop_id=shop.id))
    db.session.commit()
    admin.post("/program/audience", {"segment_id": segment.id})
    run_jobs(app)
    assert db.session.get(Customer, member.id).joined_at is not None
    assert (
        inbox.messages == []
        and db.session.scalar(select(func.count()).select_from(Invitation)) == 0
    )


@pytest.mark.parametrize("bad", [{"customer_id": "abc"}, {"segment_id": "x"}, {}])
def test_bad_selections_get_a_message_and_create_nothing(admin, shop, bad):
    response = admin.post("/invitations", bad)
    assert response.status_code == 302
    assert batches() == []
