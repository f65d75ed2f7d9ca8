"""Invitation email jobs: expand a batch, send it over SMTP (`SMTP_URL`), retry with backoff.

A sender claims a chunk of invitations (a conditional UPDATE), joins those customers to the
program and commits, so every link it emails is already stored; then it sends the chunk over
one SMTP connection and records each outcome. A failure the server calls temporary (4xx, a
dropped connection) goes back to the queue with a backoff that the sweep honours; a
permanent one (5xx) is recorded as failed for the merchant to see and resend.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import uuid
from concurrent.futures import ThreadPoolExecutor
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formataddr, make_msgid
from urllib.parse import unquote, urlsplit

from flask import current_app
from sqlalchemy import and_, or_, select

from shopify_app.extensions import db
from shopify_app.jobs import enqueue, job_app_context
from shopify_app.models import Customer, Invitation, InvitationBatch, Shop
from shopify_app.models.base import utcnow
from shopify_app.models.invitation import QUEUED
from shopify_app.services import invitations, program

log = logging.getLogger(__name__)
CHUNK = 100
#: parallel sender jobs per batch; each drains the batch until nothing is left to claim.
MAX_SENDERS = 8
SENDER_SIZE = 1000


class Mailer:
    """One SMTP connection, opened on first use and reopened after the server drops it."""

    def __init__(self, url: str, timeout: float = 30.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in {"smtp", "smtps", "smtp+starttls"}:
            raise ValueError(f"SMTP_URL must be smtp://, smtps:// or smtp+starttls://: {url!r}")
        self.scheme = parts.scheme
        self.host = parts.hostname or "localhost"
        self.port = parts.port or (465 if parts.scheme == "smtps" else 25)
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.timeout = timeout
        self.connection: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        if self.scheme == "smtps":
            connection: smtplib.SMTP = smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=ssl.create_default_context()
            )
        else:
            connection = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            if self.scheme == "smtp+starttls":
                connection.starttls(context=ssl.create_default_context())
        if self.username:
            connection.login(self.username, self.password or "")
        return connection

    def send(self, message: Message) -> None:
        if self.connection is None:
            self.connection = self._connect()
        try:
            self.connection.send_message(message)
        except smtplib.SMTPServerDisconnected:
            self.connection = None
            raise

    def close(self) -> None:
        if self.connection is not None:
            try:
                self.connection.quit()
            except (smtplib.SMTPException, OSError):
                pass
            self.connection = None


def is_permanent(error: Exception) -> bool:
    """5xx answers are permanent; 4xx, timeouts and dropped connections are worth a retry."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        return bool(codes) and all(code >= 500 for code in codes)
    if isinstance(error, smtplib.SMTPResponseException):
        return error.smtp_code >= 500
    return isinstance(error, smtplib.SMTPNotSupportedError)  # e.g. no SMTPUTF8 for this address


def build_message(shop: Shop, customer: Customer, rendered: invitations.RenderedEmail) -> Message:
    """The MIME message; built with the compat32 classes, several times faster to serialise
    than EmailMessage's header registry, which dominated the sender's profile.

    Raises ValueError for an address that cannot be put in a header (non-ASCII local part).
    """
    address = customer.email or ""
    if not address.isascii():
        raise ValueError("the address has non-ASCII characters")
    # A set boundary spares the generator a regex scan of the bodies for a free one.
    message = MIMEMultipart("alternative", boundary=f"=={uuid.uuid4().hex}==")
    message["From"] = formataddr((shop.name or shop.domain, current_app.config["MAIL_FROM"]))
    message["To"] = formataddr((customer.name, address))
    if shop.email:
        message["Reply-To"] = shop.email
    subject = rendered.subject
    message["Subject"] = subject if subject.isascii() else Header(subject, "utf-8")
    message["Message-ID"] = make_msgid(domain="referrals.invalid")
    message["List-Unsubscribe"] = f"<{invitations.unsubscribe_url(shop, customer)}>"
    message["Content-Language"] = rendered.language
    message.attach(MIMEText(rendered.text, "plain", "utf-8"))
    message.attach(MIMEText(rendered.html, "html", "utf-8"))
    return message


def prepare_batch(batch_id: int) -> str:
    """Expand the batch (enrol, create invitations) and start its senders. Safe to rerun."""
    with job_app_context():
        batch = db.session.execute(
            select(InvitationBatch).where(InvitationBatch.id == batch_id).with_for_update()
        ).scalar_one_or_none()
        if batch is None or batch.status != invitations.PREPARING:
            db.session.rollback()
            return "skipped"
        shop = db.session.get(Shop, batch.shop_id)
        assert shop is not None
        send = (batch.selection or {}).get("send", True)
        try:
            total = invitations.prepare_batch(shop, batch, send=send)
        except Exception as error:
            db.session.rollback()
            failed = db.session.get(InvitationBatch, batch_id)
            if failed is not None:
                failed.status, failed.error = invitations.DONE, f"Could not prepare: {error}"
                failed.finished_at = utcnow()
                db.session.commit()
            raise
        db.session.commit()
        start_senders(batch_id, total)
        return f"{total} queued"


def start_senders(batch_id: int, total: int) -> None:
    for part in range(min(MAX_SENDERS, -(-total // SENDER_SIZE))):
        enqueue(
            "shopify_app.jobs.email.send_batch",
            batch_id,
            job_id=f"invitations-{batch_id}-{part}-{utcnow().timestamp():.0f}",
        )


def send_batch(batch_id: int) -> str:
    """Send the batch's due invitations, chunk by chunk, until none is left to claim.

    Each chunk goes out over a few SMTP connections in parallel (`SMTP_CONNECTIONS`), since a
    message spends most of its time waiting on the server's replies.
    """
    with job_app_context():
        batch = db.session.get(InvitationBatch, batch_id)
        if batch is None:
            return "skipped"
        shop = db.session.get(Shop, batch.shop_id)
        assert shop is not None
        connections = max(current_app.config["SMTP_CONNECTIONS"], 1)
        mailers = [Mailer(current_app.config["SMTP_URL"]) for _ in range(connections)]
        sent = 0
        try:
            with ThreadPoolExecutor(max_workers=connections) as pool:
                while True:
                    claimed = invitations.claim_invitations(shop, batch_id, CHUNK)
                    db.session.commit()
                    if not claimed:
                        break
                    results = _send_chunk(shop, claimed, mailers, pool)
                    invitations.record_results(shop, batch_id, results)
                    db.session.commit()
                    sent += len(results.sent)
        finally:
            for mailer in mailers:
                mailer.close()
        invitations.refresh_batch(shop, batch_id)
        db.session.commit()
        return f"{sent} sent"


Outgoing = tuple[invitations.Claimed, Message]


def _send_chunk(
    shop: Shop,
    claimed: list[invitations.Claimed],
    mailers: list[Mailer],
    pool: ThreadPoolExecutor,
) -> invitations.SendResults:
    """Join the chunk's customers (committed before any email names their code), then send."""
    by_customer = {c.customer_id: c for c in claimed}
    program.join_customers(shop, list(by_customer))
    db.session.commit()
    customers = db.session.scalars(
        select(Customer)
        .where(Customer.shop_id == shop.id, Customer.id.in_(list(by_customer)))
        .execution_options(populate_existing=True)
    ).all()
    settings = program.get_settings(shop)
    results = invitations.SendResults()
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
            rendered = invitations.render_invitation(shop, settings, customer)
            outgoing.append((claim, build_message(shop, customer, rendered)))
        except (ValueError, IndexError) as error:  # an address the email package refuses
            results.failed[claim.invitation_id] = f"Invalid email address: {error}"
    shares = [outgoing[n :: len(mailers)] for n in range(len(mailers))]
    for outcomes in pool.map(_send_share, mailers, shares):
        for claim, error in outcomes:
            if error is None:
                results.sent.append(claim.invitation_id)
            elif is_permanent(error):
                results.failed[claim.invitation_id] = f"{type(error).__name__}: {error}"
            else:
                results.transient(claim, f"{type(error).__name__}: {error}")
    return results


def _send_share(
    mailer: Mailer, share: list[Outgoing]
) -> list[tuple[invitations.Claimed, Exception | None]]:
    """One connection's part of a chunk (runs in a pool thread; no database access here)."""
    outcomes: list[tuple[invitations.Claimed, Exception | None]] = []
    for claim, message in share:
        try:
            mailer.send(message)
        except (smtplib.SMTPException, OSError) as error:
            outcomes.append((claim, error))
            if not isinstance(error, smtplib.SMTPRecipientsRefused):
                mailer.close()
            continue
        outcomes.append((claim, None))
    return outcomes


def sweep_invitations() -> int:
    """Re-drive batches: never prepared, due retries, and claims whose worker died."""
    with job_app_context():
        now = utcnow()
        grace = now - invitations.CLAIM_LEASE / 20
        released = invitations.release_stale_claims(now)
        db.session.commit()
        if released:
            log.warning(
                "%s invitation claims expired; marked failed for an explicit resend", released
            )
        preparing = db.session.scalars(
            select(InvitationBatch.id).where(
                InvitationBatch.status == invitations.PREPARING,
                InvitationBatch.created_at < grace,
            )
        ).all()
        for batch_id in preparing:
            enqueue("shopify_app.jobs.email.prepare_batch", batch_id, job_id=f"prepare-{batch_id}")
        due = db.session.scalars(
            select(Invitation.batch_id)
            .where(
                Invitation.status == QUEUED,
                Invitation.batch_id.is_not(None),
                or_(
                    and_(
                        Invitation.next_attempt_at.is_(None),
                        Invitation.updated_at < now - invitations.CLAIM_LEASE / 20,
                    ),
                    Invitation.next_attempt_at <= now,
                ),
            )
            .distinct()
            .limit(500)
        ).all()
        for batch_id in due:
            enqueue(
                "shopify_app.jobs.email.send_batch",
                batch_id,
                job_id=f"invitations-{batch_id}-sweep-{now.timestamp():.0f}",
            )
        return len(preparing) + len(due)
