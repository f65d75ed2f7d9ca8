"""Sending invitations: expand a batch, send it over SMTP (`SMTP_URL`), retry with backoff.

A sender claims a chunk of invitations (a conditional UPDATE), joins those customers to the
program and commits, so every link it emails is already stored; then it sends the chunk over
a few SMTP connections and records each outcome as it arrives. A failure the server calls
temporary (4xx, a dropped connection) goes back to the queue with a backoff that the sweep
honours; a permanent one (5xx, an address that cannot be used) is recorded as failed, in the
merchant's words, for the merchant to see and resend.
"""

from __future__ import annotations

import logging
import queue
import smtplib
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import make_msgid

from flask import current_app
from sqlalchemy import Row, and_, select

from shopify_app.invitations import claims
from shopify_app.invitations.batches import prepare_batch
from shopify_app.invitations.rendering import RenderedEmail, render_invitation
from shopify_app.invitations.unsubscribe import unsubscribe_url
from shopify_app.platform import mailer, sweeps
from shopify_app.platform.extensions import db
from shopify_app.platform.mailer import OutgoingEmail
from shopify_app.platform.models import Customer, Invitation, InvitationBatch, Shop
from shopify_app.platform.models.base import utcnow
from shopify_app.platform.models.invitation import BATCH_DONE, BATCH_PREPARING, QUEUED
from shopify_app.platform.queue import enqueue
from shopify_app.platform.sweeps import Sweep, Waiting
from shopify_app.program import config as program

log = logging.getLogger(__name__)
PREPARE_FAILED = (
    "This batch could not be prepared and nothing was sent. Select the customers and send again."
)
CHUNK = 100
#: parallel sender jobs per batch; each drains the batch until nothing is left to claim.
MAX_SENDERS = 8
SENDER_SIZE = 1000
Outgoing = tuple[claims.Claimed, OutgoingEmail]


def build_email(shop: Shop, customer: Customer, rendered: RenderedEmail) -> OutgoingEmail:
    """The invitation, serialised here so a header problem fails this email, not the job.

    Built with the compat32 classes, several times faster to serialise than EmailMessage's
    header registry, which dominated the sender's profile. Names are put on one line (an
    imported first name may hold a line break); raises InvalidAddress for an unusable address.
    """
    address = mailer.checked_address(customer.email)
    utf8 = not address.isascii()
    sender = current_app.config["MAIL_FROM"]
    # A set boundary spares the generator a regex scan of the bodies for a free one.
    message = MIMEMultipart("alternative", boundary=f"=={uuid.uuid4().hex}==")
    message["From"] = mailer.address_header(shop.name or shop.domain, sender)
    message["To"] = mailer.address_header(customer.name, address)
    reply_to = _reply_to(shop, utf8)
    if reply_to:
        message["Reply-To"] = reply_to
    subject = mailer.one_line(rendered.subject)
    message["Subject"] = subject if subject.isascii() or utf8 else Header(subject, "utf-8")
    message["Message-ID"] = make_msgid(domain="referrals.invalid")
    message["List-Unsubscribe"] = f"<{unsubscribe_url(shop, customer)}>"
    message["Content-Language"] = rendered.language
    message.attach(MIMEText(rendered.text, "plain", "utf-8"))
    message.attach(MIMEText(rendered.html, "html", "utf-8"))
    return OutgoingEmail(
        sender=sender, recipient=address, data=mailer.serialise(message, utf8=utf8), utf8=utf8
    )


def _reply_to(shop: Shop, utf8: bool) -> str | None:
    """The shop's own address for replies, left out when it could not be this email's header."""
    try:
        address = mailer.checked_address(shop.email) if shop.email else None
    except mailer.InvalidAddress:
        return None
    return address if address and (utf8 or address.isascii()) else None


def prepare(batch_id: int) -> str:
    """Expand the batch (enrol, create invitations) and start its senders. Safe to rerun."""
    batch = db.session.execute(
        select(InvitationBatch).where(InvitationBatch.id == batch_id).with_for_update()
    ).scalar_one_or_none()
    if batch is None or batch.status != BATCH_PREPARING:
        db.session.rollback()
        return "skipped"
    shop = db.session.get(Shop, batch.shop_id)
    assert shop is not None
    send = (batch.selection or {}).get("send", True)
    try:
        total = prepare_batch(shop, batch, send=send)
    except Exception:
        db.session.rollback()
        failed = db.session.get(InvitationBatch, batch_id)
        if failed is not None:
            failed.status, failed.error = BATCH_DONE, PREPARE_FAILED
            failed.finished_at = utcnow()
            db.session.commit()
        raise
    db.session.commit()
    start_senders(batch_id, total)
    return f"{total} queued"


def start_senders(batch_id: int, total: int) -> None:
    for part in range(min(MAX_SENDERS, -(-total // SENDER_SIZE))):
        enqueue(
            "shopify_app.invitations.jobs.send_batch",
            batch_id,
            job_id=f"invitations-{batch_id}-{part}-{utcnow().timestamp():.0f}",
        )


def send(batch_id: int) -> str:
    """Send the batch's due invitations, chunk by chunk, until none is left to claim.

    Each chunk goes out over a few SMTP connections in parallel (`SMTP_CONNECTIONS`), since a
    message spends most of its time waiting on the server's replies. Outcomes are recorded
    as they arrive, so the batch page shows them live and an email that went out is marked
    sent even if the job dies a moment later. When the server cannot be reached at all, the
    batch's remaining invitations fail at once with that reason instead of retrying for
    minutes.
    """
    batch = db.session.get(InvitationBatch, batch_id)
    if batch is None:
        return "skipped"
    shop = db.session.get(Shop, batch.shop_id)
    assert shop is not None
    config = current_app.config
    connections = max(config["SMTP_CONNECTIONS"], 1)
    mailers = [
        mailer.Mailer(config["SMTP_URL"], timeout=config["SMTP_TIMEOUT"])
        for _ in range(connections)
    ]
    sent = 0
    unavailable: str | None = None
    try:
        with ThreadPoolExecutor(max_workers=connections) as pool:
            while unavailable is None:
                claimed = claims.claim_invitations(shop, batch_id, CHUNK)
                db.session.commit()
                if not claimed:
                    break
                chunk = _Chunk(shop, batch_id)
                chunk.send(claimed, mailers, pool)
                sent += chunk.sent
                unavailable = chunk.unavailable
    finally:
        for connection in mailers:
            connection.close()
    if unavailable is not None:
        claims.fail_queued(shop, batch_id, unavailable)
    claims.refresh_batch(shop, batch_id)
    db.session.commit()
    return f"{sent} sent" + (f"; stopped: {unavailable}" if unavailable else "")


class _Chunk:
    """One claimed chunk: built on this thread, sent by pool threads, recorded as it goes.

    Pool threads only talk SMTP; every database write happens here, on the job's thread.
    """

    #: outcomes recorded together at most; fewer when no more are waiting.
    RECORD_EVERY = 50

    def __init__(self, shop: Shop, batch_id: int) -> None:
        self.shop = shop
        self.batch_id = batch_id
        self.work: queue.SimpleQueue[Outgoing] = queue.SimpleQueue()
        self.outcomes: queue.SimpleQueue[tuple[claims.Claimed, mailer.Failure | None]] = (
            queue.SimpleQueue()
        )
        self.stop = threading.Event()
        self.unavailable: str | None = None
        self.sent = 0

    def send(
        self,
        claimed: list[claims.Claimed],
        mailers: list[mailer.Mailer],
        pool: ThreadPoolExecutor,
    ) -> None:
        results, outgoing = self._build(claimed)
        self._record(results)
        for item in outgoing:
            self.work.put(item)
        senders = [pool.submit(self._drain, m) for m in mailers[: len(outgoing)]]
        waiting = {claim.invitation_id for claim, _ in outgoing}
        results = claims.SendResults()
        while waiting:
            try:
                claim, failure = self.outcomes.get(timeout=1.0)
            except queue.Empty:
                if all(sender.done() for sender in senders) and self.outcomes.empty():
                    break  # a sender thread died: its claims stay for the lease to settle
                continue
            waiting.discard(claim.invitation_id)
            self._add(results, claim, failure)
            if self.outcomes.empty() or results.size >= self.RECORD_EVERY:
                self._record(results)
                results = claims.SendResults()
        self._record(results)
        for sender in senders:
            sender.result()

    def _build(self, claimed: list[claims.Claimed]) -> tuple[claims.SendResults, list[Outgoing]]:
        """Join the chunk's customers (committed before any email names their code), then
        build each email; one that cannot be built fails alone, with its reason."""
        shop = self.shop
        by_customer = {c.customer_id: c for c in claimed}
        program.join_customers(shop, list(by_customer))
        db.session.commit()
        customers = db.session.scalars(
            select(Customer)
            .where(Customer.shop_id == shop.id, Customer.id.in_(list(by_customer)))
            .execution_options(populate_existing=True)
        ).all()
        settings = program.get_settings(shop)
        results = claims.SendResults()
        found = {c.id: c for c in customers}
        outgoing: list[Outgoing] = []
        for customer_id, claim in by_customer.items():
            customer = found.get(customer_id)
            if customer is None or not customer.email or not customer.referral_code:
                results.failed[claim.invitation_id] = "The customer has no email or was deleted."
                continue
            if customer.unsubscribed:
                results.failed[claim.invitation_id] = "The customer unsubscribed."
                continue
            try:
                rendered = render_invitation(shop, settings, customer)
                outgoing.append((claim, build_email(shop, customer, rendered)))
            except Exception as error:  # one bad row must not stop the rest
                failure = mailer.describe_failure(error)
                if failure.reason == mailer.UNEXPECTED:
                    log.exception("invitation %s could not be built", claim.invitation_id)
                results.failed[claim.invitation_id] = failure.reason
        return results, outgoing

    def _drain(self, connection: mailer.Mailer) -> None:
        """A pool thread: send from the shared work queue until it is empty (no database)."""
        while True:
            try:
                claim, email = self.work.get_nowait()
            except queue.Empty:
                return
            if self.stop.is_set():
                self.outcomes.put((claim, mailer.Failure(self.unavailable or "", True)))
                continue
            try:
                connection.send(email)
            except mailer.MailServerUnavailable as error:
                self.unavailable = error.reason
                self.stop.set()
                self.outcomes.put((claim, mailer.describe_failure(error)))
            except Exception as error:  # each email's failure is its own
                failure = mailer.describe_failure(error)
                if failure.reason == mailer.UNEXPECTED:
                    log.exception("invitation %s could not be sent", claim.invitation_id)
                if not isinstance(error, smtplib.SMTPRecipientsRefused):
                    connection.close()
                self.outcomes.put((claim, failure))
            else:
                self.outcomes.put((claim, None))

    def _add(
        self,
        results: claims.SendResults,
        claim: claims.Claimed,
        failure: mailer.Failure | None,
    ) -> None:
        if failure is None:
            results.sent.append(claim.invitation_id)
            self.sent += 1
        elif failure.permanent:
            results.failed[claim.invitation_id] = failure.reason
        else:
            results.transient(claim, failure.reason)

    def _record(self, results: claims.SendResults) -> None:
        if results.size:
            claims.record_results(self.shop, self.batch_id, results)
            db.session.commit()


def _prepare_again(row: Row) -> bool:
    return enqueue("shopify_app.invitations.jobs.prepare_batch", row.id, job_id=f"prepare-{row.id}")


def _send_again(row: Row) -> bool:
    """A job id of its own per sweep: a batch's earlier sender may still be known to RQ."""
    return enqueue(
        "shopify_app.invitations.jobs.send_batch",
        row.batch_id,
        job_id=f"invitations-{row.batch_id}-sweep-{utcnow().timestamp():.0f}",
    )


def _grace() -> timedelta:
    return claims.CLAIM_LEASE / 20


#: batches never prepared (their job was lost).
UNPREPARED = Sweep(
    InvitationBatch,
    (Waiting(InvitationBatch.status == BATCH_PREPARING, InvitationBatch.created_at, _grace),),
    _prepare_again,
)
#: batches with invitations waiting: never sent (no retry planned, past the grace) or due for
#: their retry; one sender per batch, not one per invitation.
UNSENT = Sweep(
    Invitation,
    (
        Waiting(
            and_(
                Invitation.status == QUEUED,
                Invitation.batch_id.is_not(None),
                Invitation.next_attempt_at.is_(None),
            ),
            Invitation.updated_at,
            _grace,
        ),
        Waiting(
            and_(Invitation.status == QUEUED, Invitation.batch_id.is_not(None)),
            Invitation.next_attempt_at,
            timedelta(0),
        ),
    ),
    _send_again,
    key=Invitation.batch_id,
    distinct=True,
    limit=500,
)


def sweep() -> int:
    """Re-drive batches: never prepared, due retries, and claims whose worker died.

    A claim whose worker died is not queued again but failed (`release_stale_claims`): its
    email may have gone out, so only an explicit Resend sends it again. That is why it is no
    `Sweep`, which re-queues what it finds.
    """
    released = claims.release_stale_claims(utcnow())
    db.session.commit()
    if released:
        log.warning("%s invitation claims expired; marked failed for an explicit resend", released)
    return sweeps.run(UNPREPARED) + sweeps.run(UNSENT)
