"""Invitations at the edges: hostile names, bad addresses, a dead mail server, a dead worker.

Real parts throughout: aiosmtpd servers started here, RQ workers in-process or as
subprocesses, and the batch page read through the test client like the merchant reads it.
"""

from __future__ import annotations

import socket
import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from shopify_app.invitations.claims import CLAIM_LEASE, release_stale_claims
from shopify_app.platform.extensions import db
from shopify_app.platform.models import Invitation, InvitationBatch
from shopify_app.platform.models.base import utcnow
from tests.helpers import run_jobs
from tests.ports import free_port
from tests.referrals.test_invitations import batches, contact, invitation_of
from tests.workers import wait_for

INVALID = "This email address is not valid."
UNREACHABLE = "The mail server could not be reached, so nothing was sent. Resend once it is back."
NO_SMTPUTF8 = "This address has international characters, which the mail server does not accept."


def statuses() -> Counter[str]:
    db.session.expire_all()
    return Counter(db.session.scalars(select(Invitation.status)))


def progress(admin, batch_id: int) -> dict:
    db.session.expire_all()
    return admin.get(f"/invitations/batches/{batch_id}/progress.json", fetch=True).json


def test_a_line_break_in_a_name_breaks_no_header_and_a_bad_address_fails_alone(
    app, admin, shop, inbox
):
    people = [contact(shop, f"p{n}@example.com", first_name=f"P{n}") for n in range(8)]
    hostile = contact(shop, "ann@example.com", first_name="Ann\nBcc: evil@example.com")
    broken = contact(shop, "broken\n@example.com", first_name="Bo")
    ids = [c.id for c in (*people, hostile, broken)]
    admin.post("/invitations", {"customer_id": ids})
    run_jobs(app)

    assert statuses() == {"sent": 9, "failed": 1}
    assert len(inbox.messages) == 9
    assert all(envelope == [envelope[0]] for envelope in inbox.envelopes)
    assert "evil@example.com" not in {r for e in inbox.envelopes for r in e}
    [ann] = inbox.to("ann@example.com")
    assert ann["Bcc"] is None and ann["To"].addresses[0].display_name == "Ann Bcc: evil@example.com"
    assert invitation_of(broken).error == INVALID
    [batch] = batches()
    assert (batch.status, batch.sent, batch.failed) == ("done", 9, 1)
    page = admin.get(f"/invitations/batches/{batch.id}").get_data(as_text=True)
    assert "p-banner--warning" in page and "p-banner--success" not in page
    assert "1 of 10 invitations could not be sent" in page and INVALID in page


@pytest.mark.slow
def test_a_resend_after_a_worker_died_never_repeats_an_email_that_went_out(
    app, admin, shop, inbox, workers
):
    people = [contact(shop, f"w{n}@example.com", first_name=f"W{n}") for n in range(10)]
    inbox.pause_after = 4
    admin.post("/invitations", {"customer_id": [p.id for p in people]})
    worker = workers.start("--burst", SMTP_CONNECTIONS="1")
    assert inbox.paused.wait(60), "the worker never reached the fifth email"
    # The four that went out are recorded as sent while the fifth is still in flight.
    wait_for(lambda: statuses()["sent"] == 4, timeout=20)
    worker.kill()
    inbox.resume.set()

    # The lease runs out: what the dead worker held is failed, for an explicit resend.
    db.session.commit()
    release_stale_claims(utcnow() + CLAIM_LEASE + timedelta(seconds=1))
    db.session.commit()
    assert statuses() == {"sent": 4, "failed": 6}
    [batch] = batches()
    page = admin.get(f"/invitations/batches/{batch.id}").get_data(as_text=True)
    assert page.count("/resend") >= 6
    for invitation in db.session.scalars(select(Invitation).where(Invitation.status == "failed")):
        admin.post(f"/invitations/{invitation.id}/resend")
    run_jobs(app)

    received = Counter(str(m["To"]) for m in inbox.messages)
    assert len(received) == 10 and set(received.values()) == {1}
    assert statuses() == {"sent": 10}


def test_an_unreachable_mail_server_fails_fast_in_the_merchants_words(app, admin, shop):
    people = [contact(shop, f"u{n}@example.com") for n in range(3)]
    previous = app.config["SMTP_URL"]
    app.config["SMTP_URL"] = f"smtp://127.0.0.1:{free_port()}"  # nothing listens there
    try:
        admin.post("/invitations", {"customer_id": [p.id for p in people]})
        started = time.monotonic()
        run_jobs(app)
        elapsed = time.monotonic() - started
    finally:
        app.config["SMTP_URL"] = previous
    assert elapsed < 10
    [batch] = batches()
    assert (batch.status, batch.sent, batch.failed) == ("done", 0, 3)
    assert {invitation_of(p).error for p in people} == {UNREACHABLE}
    state = progress(admin, batch.id)
    assert state["tone"] == "critical" and state["status"] == "Done with failures"
    assert state["failures"] == [{"reason": UNREACHABLE, "count": 3, "retrying": False}]
    page = admin.get(f"/invitations/batches/{batch.id}").get_data(as_text=True)
    assert "No invitations were sent" in page and "p-banner--critical" in page
    assert "p-banner--success" not in page
    for raw in ("ConnectionRefusedError", "Errno", "Traceback"):
        assert raw not in page
    listing = admin.get("/invitations").get_data(as_text=True)
    assert "Done, 3 failed" in listing and "p-badge--success" not in listing


def test_the_failed_invitations_of_a_batch_resend_once_the_server_is_back(app, admin, shop, inbox):
    people = [contact(shop, f"r{n}@example.com") for n in range(3)]
    working = app.config["SMTP_URL"]
    app.config["SMTP_URL"] = f"smtp://127.0.0.1:{free_port()}"
    admin.post("/invitations", {"customer_id": [p.id for p in people]})
    run_jobs(app)
    app.config["SMTP_URL"] = working
    [batch] = batches()
    assert batch.failed == 3

    admin.post(f"/invitations/batches/{batch.id}/resend")
    run_jobs(app)
    assert statuses() == {"sent": 3} and len(inbox.messages) == 3
    page = admin.get(f"/invitations/batches/{batch.id}").get_data(as_text=True)
    assert "All 3 invitations sent" in page and "p-banner--success" in page
    admin.post(f"/invitations/batches/{batch.id}/resend")  # nothing failed: nothing is sent
    run_jobs(app)
    assert len(inbox.messages) == 3


def test_failures_show_on_the_batch_page_while_it_sends(app, admin, shop, inbox, workers):
    people = [contact(shop, f"live{n}@example.com") for n in range(6)]
    inbox.refusals["live0@example.com"] = ["550 5.1.1 No such user"]
    inbox.refusals["live1@example.com"] = ["451 4.3.0 Try again later"]
    inbox.pause_after = 2
    admin.post("/invitations", {"customer_id": [p.id for p in people]})
    workers.start("--burst", SMTP_CONNECTIONS="1")
    [batch] = batches()
    assert inbox.paused.wait(60)

    wait_for(lambda: progress(admin, batch.id)["sent"] == 2, timeout=20)
    state = progress(admin, batch.id)
    assert state["finished"] is False
    assert (state["failed"], state["retrying"], state["tone"]) == (1, 1, "warning")
    reasons = {f["reason"]: f for f in state["failures"]}
    assert "The recipient's address was refused (550 5.1.1 No such user)." in reasons
    assert any(f["retrying"] and "451" in r for r, f in reasons.items())
    assert state["message"] == "Sending: 2 of 6 sent, 1 failed, 1 waiting to retry."
    page = admin.get(f"/invitations/batches/{batch.id}").get_data(as_text=True)
    assert "Some invitations could not be sent" in page and "No such user" in page
    inbox.resume.set()
    wait_for(lambda: progress(admin, batch.id)["sent"] == 4, timeout=30)


def test_an_international_address_goes_out_where_the_server_offers_smtputf8(
    app, admin, shop, inbox
):
    zoe = contact(shop, "zoë@example.com", first_name="Zoë")
    ana = contact(shop, "ana@exämple.com", first_name="Ana")  # only the domain: sent as IDNA
    admin.post("/invitations", {"customer_id": [zoe.id, ana.id]})
    run_jobs(app)
    assert statuses() == {"sent": 2}
    assert [e for e in inbox.envelopes if e == ["zoë@example.com"]]
    [message] = inbox.to("zoë@example.com")
    assert message["To"].addresses[0].display_name == "Zoë"
    assert inbox.to("ana@xn--exmple-cua.com")


def test_an_international_address_is_flagged_in_the_dialog_before_sending(
    app, admin, shop, ascii_inbox
):
    zoe = contact(shop, "zoë@example.com", first_name="Zoë")
    plain = contact(shop, "plain@exämple.com")
    dialog = admin.get("/invitations/new", query_string={"customer_id": [zoe.id, plain.id]})
    html = dialog.get_data(as_text=True)
    assert "1 address with international characters" in html and "zoë@example.com" in html
    assert "SMTPUTF8" in html and "plain@exämple.com" not in html.split("data-international")[1]

    admin.post("/invitations", {"customer_id": [zoe.id, plain.id]})
    run_jobs(app)  # this server offers no SMTPUTF8: that one fails, with the reason
    assert invitation_of(zoe).error == NO_SMTPUTF8
    assert invitation_of(plain).status == "sent"
    assert db.session.scalar(select(func.count()).select_from(InvitationBatch)) == 1


class _BusyServer:
    """A mail server that greets every connection with 421 (too many connections) and hangs up."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.greeted = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            with client:
                client.sendall(b"421 4.7.0 Too many connections, try again later\r\n")
                self.greeted += 1

    def close(self) -> None:
        self.sock.close()


def test_a_busy_mail_server_retries_later_instead_of_failing_the_batch(app, admin, shop):
    """421 at connect means "later": seen before as the whole batch failed for good."""
    people = [contact(shop, f"busy{n}@example.com") for n in range(3)]
    busy, previous = _BusyServer(), app.config["SMTP_URL"]
    app.config["SMTP_URL"] = f"smtp://127.0.0.1:{busy.port}"
    try:
        admin.post("/invitations", {"customer_id": [p.id for p in people]})
        run_jobs(app)
    finally:
        app.config["SMTP_URL"] = previous
        busy.close()
    assert busy.greeted >= 1
    db.session.expire_all()
    rows = [invitation_of(p) for p in people]
    assert {row.status for row in rows} == {"queued"}
    assert all(row.next_attempt_at is not None and row.next_attempt_at > utcnow() for row in rows)
    assert {row.error for row in rows} == {
        "The mail server asked to try again later (421 4.7.0 Too many connections, try again "
        "later)."
    }
    [batch] = batches()
    assert batch.failed == 0
