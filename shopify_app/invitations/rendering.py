"""The invitation email as a customer reads it: their language, the shop's copy, their link.

Rendering is apart from sending so the Invite dialog can show the very email a language group
gets before anything is sent, and the sender builds the same one for each invitee.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import render_template
from markupsafe import Markup, escape

from shopify_app.invitations.unsubscribe import unsubscribe_url
from shopify_app.platform.models import Customer, Shop
from shopify_app.program import config as program
from shopify_app.referrals.links import referral_link


@dataclass(frozen=True)
class RenderedEmail:
    language: str
    subject: str
    text: str
    html: str


#: a test invitation's subject starts with this, in every language.
TEST_PREFIX = "[Test] "


def render_invitation(
    shop: Shop,
    settings: Any,
    customer: Customer,
    language: str | None = None,
    *,
    test: bool = False,
) -> RenderedEmail:
    """The invitation in the customer's language (or the shop's), placeholders filled.

    `test` marks it as the merchant's own test (subject and a note above the copy), so a
    forwarded test is never taken for a real invitation.
    """
    language = language or program.email_language(shop, customer.locale)
    subject, body = program.email_copy(shop, settings, language)
    code = customer.referral_code or f"{program.code_prefix(customer)}-XXXXXXX"
    link = referral_link(shop, customer) if customer.referral_code else _sample_link(shop, code)
    values = {
        "first_name": customer.first_name or program.NAME_FALLBACK[language],
        "last_name": customer.last_name,
        "shop_name": shop.name or shop.domain,
        "referral_link": link,
        "referral_code": code,
        "referee_offer": program.describe_offer(
            program.referee_value(settings), shop.currency, language
        ),
        "referrer_reward": program.describe_reward(
            program.reward_value(settings), shop.currency, language
        ),
    }
    text_body = program.fill_placeholders(body, values)
    context = {
        "shop_name": values["shop_name"],
        "link": link,
        "body": text_body,
        "paragraphs": _paragraphs(text_body, link),
        "unsubscribe_url": unsubscribe_url(shop, customer),
        "test": test,
    }
    subject = program.fill_placeholders(subject, values).replace("\n", " ").strip()
    return RenderedEmail(
        language=language,
        subject=TEST_PREFIX + subject if test else subject,
        text=render_template(f"email/{language}/invitation.txt", **context),
        html=render_template(f"email/{language}/invitation.html", **context),
    )


def _sample_link(shop: Shop, code: str) -> str:
    return f"https://{shop.domain}/apps/referrals/r/{code}"


def _paragraphs(text: str, link: str) -> list[Markup]:
    """Escaped paragraphs with line breaks, the referral link made clickable."""
    anchor = Markup('<a href="{0}">{0}</a>').format(link)
    paragraphs = []
    for chunk in text.strip().split("\n\n"):
        html = Markup("<br>").join(escape(line) for line in chunk.split("\n"))
        paragraphs.append(Markup(str(html).replace(str(escape(link)), str(anchor))))
    return paragraphs
