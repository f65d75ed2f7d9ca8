"""The reminder email sent D days before a customer's points expire, once per expiry period.

A chunk of due reminders is claimed (`reminded_at` set) and committed before anything is sent,
so two runs never email one customer twice; an email that then fails is unclaimed and tried
again by the next daily run. Earning or redeeming clears `reminded_at` (`ledger.point_state`),
so the next period gets its own reminder. Customers who unsubscribed get none. The email is in
the customer's language (English or French, as invitations), sent over SMTP by the worker.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import make_msgid

from babel.dates import format_date
from babel.numbers import format_decimal
from flask import current_app, render_template
from sqlalchemy import select, update

from shopify_app.loyalty.expiry import expires_on, reminder_window
from shopify_app.platform import mailer
from shopify_app.platform.extensions import db
from shopify_app.platform.mailer import OutgoingEmail
from shopify_app.platform.models import Customer, PointBalance, ProgramSettings, Shop
from shopify_app.platform.models.base import utcnow
from shopify_app.platform.unsubscribe_links import unsubscribe_url
from shopify_app.program import config as program

log = logging.getLogger(__name__)
CHUNK = 100
SUBJECTS = {
    "en": "Your {points} points at {shop} expire on {date}",
    "fr": "Vos {points} points chez {shop} expirent le {date}",
}


@dataclass(frozen=True)
class Reminder:
    customer_id: int
    points: int
    expires_at: datetime


@dataclass
class ReminderRun:
    sent: int = 0
    failed: int = 0
    stopped: str | None = None


def claim_reminders(
    shop: Shop, settings: ProgramSettings, now: datetime, limit: int = CHUNK
) -> list[Reminder]:
    """Mark the next due reminders as sent (the caller commits before sending)."""
    cutoff, remind_until = reminder_window(settings, now)
    query = (
        select(PointBalance.customer_id, PointBalance.last_activity_at, PointBalance.balance)
        .join(Customer, Customer.id == PointBalance.customer_id)
        .where(
            PointBalance.shop_id == shop.id,
            PointBalance.reminded_at.is_(None),
            PointBalance.last_activity_at > cutoff,
            PointBalance.last_activity_at <= remind_until,
            Customer.shop_id == shop.id,
            PointBalance.balance > 0,
            Customer.unsubscribed.is_(False),
            Customer.email.is_not(None),
            Customer.deleted_at.is_(None),
        )
        .order_by(PointBalance.customer_id)
        .limit(limit)
        .with_for_update(of=PointBalance, skip_locked=True)
    )
    due = [
        Reminder(r.customer_id, r.balance, expires_on(settings, r.last_activity_at))
        for r in db.session.execute(query)
    ]
    if due:
        db.session.execute(
            update(PointBalance)
            .where(
                PointBalance.shop_id == shop.id,
                PointBalance.customer_id.in_([r.customer_id for r in due]),
            )
            .values(reminded_at=now)
            .execution_options(synchronize_session=False)
        )
    return due


def unclaim(shop: Shop, customer_ids: list[int]) -> None:
    """Let the next run try these reminders again (the email did not go out)."""
    if customer_ids:
        db.session.execute(
            update(PointBalance)
            .where(PointBalance.shop_id == shop.id, PointBalance.customer_id.in_(customer_ids))
            .values(reminded_at=None)
            .execution_options(synchronize_session=False)
        )


def build_reminder(shop: Shop, customer: Customer, reminder: Reminder) -> OutgoingEmail:
    """The reminder in the customer's language; raises InvalidAddress for an unusable address."""
    language = program.email_language(shop, customer.locale)
    address = mailer.checked_address(customer.email)
    utf8 = not address.isascii()
    values = {
        "first_name": customer.first_name or program.NAME_FALLBACK[language],
        "shop_name": shop.name or shop.domain,
        "points": format_decimal(reminder.points, locale=language),
        "date": format_date(reminder.expires_at.date(), format="long", locale=language),
        "shop_url": f"https://{shop.domain}/apps/referrals/account",
        "unsubscribe_url": unsubscribe_url(shop, customer),
    }
    subject = mailer.one_line(
        SUBJECTS[language].format(
            points=values["points"], shop=values["shop_name"], date=values["date"]
        )
    )
    sender = current_app.config["MAIL_FROM"]
    message = MIMEMultipart("alternative", boundary=f"=={uuid.uuid4().hex}==")
    message["From"] = mailer.address_header(shop.name or shop.domain, sender)
    message["To"] = mailer.address_header(customer.name, address)
    message["Subject"] = subject if subject.isascii() or utf8 else Header(subject, "utf-8")
    message["Message-ID"] = make_msgid(domain="referrals.invalid")
    message["List-Unsubscribe"] = f"<{values['unsubscribe_url']}>"
    message["Content-Language"] = language
    message.attach(
        MIMEText(
            render_template(f"email/{language}/points_reminder.txt", **values), "plain", "utf-8"
        )
    )
    message.attach(
        MIMEText(
            render_template(f"email/{language}/points_reminder.html", **values), "html", "utf-8"
        )
    )
    return OutgoingEmail(
        sender=sender, recipient=address, data=mailer.serialise(message, utf8=utf8), utf8=utf8
    )


def send_reminders(
    shop: Shop, settings: ProgramSettings, *, now: datetime | None = None
) -> ReminderRun:
    """Send every due reminder, a claimed and committed chunk at a time (the job's unit).

    A server that cannot be reached stops the run with the chunk unclaimed; an email the
    server refuses is unclaimed alone, for tomorrow.
    """
    now = now or utcnow()
    config = current_app.config
    connection = mailer.Mailer(config["SMTP_URL"], timeout=config["SMTP_TIMEOUT"])
    run = ReminderRun()
    try:
        while run.stopped is None:
            due = claim_reminders(shop, settings, now)
            db.session.commit()
            if not due:
                break
            customers = {
                c.id: c
                for c in db.session.scalars(
                    select(Customer).where(
                        Customer.shop_id == shop.id,
                        Customer.id.in_([r.customer_id for r in due]),
                    )
                )
            }
            failed: list[int] = []
            for index, reminder in enumerate(due):
                try:
                    connection.send(build_reminder(shop, customers[reminder.customer_id], reminder))
                except mailer.MailServerUnavailable as error:
                    run.stopped = error.reason
                    failed.extend(r.customer_id for r in due[index:])
                    break
                except Exception as error:  # one customer's email must not stop the rest
                    log.warning("points reminder to %s failed: %s", reminder.customer_id, error)
                    failed.append(reminder.customer_id)
                    connection.close()
                else:
                    run.sent += 1
            run.failed += len(failed)
            unclaim(shop, failed)
            db.session.commit()
    finally:
        connection.close()
    return run
