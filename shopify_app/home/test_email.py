""" "Send me a test email": the real invitation, marked as a test, to the merchant's inbox.

Sent while the merchant waits (one email, bounded timeouts through `platform.mailer`), so the
page can say at once whether the mail server took it, in the merchant's words. The email is
the one customers get (`invitations.rendering`, built by `invitations.sending.build_email`),
in the shop's language, with sample values where a customer's would be.
"""

from __future__ import annotations

import logging

from flask import current_app

from shopify_app.home.checklist import count_test_email, record_test_email
from shopify_app.invitations.rendering import RenderedEmail, render_invitation
from shopify_app.invitations.sending import build_email
from shopify_app.platform import mailer
from shopify_app.platform.models import Customer, Shop
from shopify_app.platform.shops import shop_zone
from shopify_app.program import config as program

log = logging.getLogger(__name__)

INVALID = "Enter an email address like you@example.com."
TRY_AGAIN = "The mail server did not take the test email just now. Try again in a minute."
UNEXPECTED = "The test email could not be sent because of an unexpected error (it was logged)."


class TestEmailFailed(Exception):
    """The test email did not go out; `reason` says why in the merchant's words."""

    __test__ = False  # not a pytest class, whatever its name

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def sample_customer(shop: Shop, address: str) -> Customer:
    """A customer that is never stored: the merchant's address, no name, no code yet.

    The email then shows the program's own fallbacks (the greeting without a name, a sample
    referral link), which is what a merchant should check.
    """
    return Customer(shop_id=shop.id, email=address, locale=shop.locale)


def render_test_email(shop: Shop, address: str) -> RenderedEmail:
    """The invitation as the test sends it, for the preview beside the Send button."""
    settings = program.get_settings(shop)
    customer = sample_customer(shop, address)
    return render_invitation(shop, settings, customer, program.shop_language(shop), test=True)


def send_test_email(shop: Shop, address: str) -> str:
    """Send the test invitation to `address`; the address it went to, or TestEmailFailed.

    Counts the try against the shop's hourly limit (also when it fails: a refusing server is
    not to be hammered) and marks the setup guide's step once the mail server accepted it;
    the caller commits either way.
    """
    try:
        recipient = mailer.checked_address(address)
    except mailer.InvalidAddress as error:
        raise TestEmailFailed(INVALID) from error
    config = current_app.config
    per_hour = config["TEST_EMAILS_PER_HOUR"]
    next_at = count_test_email(shop, per_hour)
    if next_at is not None:
        local = next_at.astimezone(shop_zone(shop))
        raise TestEmailFailed(
            f"You sent {per_hour} test emails in the last hour. "
            f"Try again after {local:%H:%M} ({shop.timezone})."
        )
    rendered = render_test_email(shop, recipient)
    email = build_email(shop, sample_customer(shop, recipient), rendered)
    connection = mailer.Mailer(config["SMTP_URL"], timeout=config["SMTP_TIMEOUT"])
    try:
        connection.send(email)
    except Exception as error:  # every failure becomes the merchant's words
        failure = mailer.describe_failure(error)
        if failure.reason == mailer.UNEXPECTED:
            log.exception("test email for %s could not be sent", shop.domain)
            raise TestEmailFailed(UNEXPECTED) from error
        raise TestEmailFailed(failure.reason if failure.permanent else TRY_AGAIN) from error
    finally:
        connection.close()
    record_test_email(shop, recipient)
    return recipient
