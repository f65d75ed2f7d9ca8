"""The referral program: its settings, the invitation copy per locale, and who has joined.

Settings have defaults that make the program work right after install; the merchant edits them
on the Program page, whose form (`program.forms`) validates every value before anything is
saved.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, select, update
from sqlalchemy.exc import IntegrityError

from shopify_app.integrations.klaviyo.runs import request_sync as send_to_klaviyo
from shopify_app.platform.extensions import db
from shopify_app.platform.models import Customer, ProgramSettings, Segment, Shop
from shopify_app.platform.models.base import utcnow
from shopify_app.platform.money import format_money
from shopify_app.platform.shopify.discounts import CODE_ALPHABET, PERCENTAGE, DiscountValue
from shopify_app.platform.shops import row_of_shop

#: languages the invitation email exists in (templates/email/<lang>/); others fall back.
EMAIL_LANGUAGES = ("en", "fr")
LANGUAGE_NAMES = {"en": "English", "fr": "Français"}
PLACEHOLDERS = (
    "first_name",
    "last_name",
    "shop_name",
    "referral_link",
    "referral_code",
    "referee_offer",
    "referrer_reward",
)
DEFAULT_COPY: dict[str, dict[str, str]] = {
    "en": {
        "subject": "{shop_name} invites you to refer a friend",
        "body": (
            "Hi {first_name},\n\nShare your link with friends: they get {referee_offer} "
            "their first order and you get {referrer_reward}.\n\n{referral_link}\n"
        ),
    },
    "fr": {
        "subject": "{shop_name} vous invite à parrainer vos amis",
        "body": (
            "Bonjour {first_name},\n\nPartagez votre lien avec vos amis : ils profitent de "
            "{referee_offer} sur leur première commande et vous recevez {referrer_reward}.\n\n"
            "{referral_link}\n"
        ),
    },
}
NAME_FALLBACK = {"en": "there", "fr": "à vous"}
_PLACEHOLDER = re.compile(r"\{(\w*)\}")
#: anything in braces, for validation: `{name.__class__}` is refused, not left as text.
BRACES = re.compile(r"\{([^{}\n]*)\}")
REFERRAL_CODE_LENGTH = 7
MAX_SUBJECT, MAX_BODY = 255, 10_000


@dataclass(frozen=True)
class SettingsChanges:
    """A valid Program form in stored units: minor units for amounts, copy per language."""

    referee_offer: DiscountValue
    reward: DiscountValue
    min_order_minor: int
    copies: dict[str, tuple[str, str]]
    #: the loyalty rules the form carried, by column name (earn_orders, earn_per_unit, …).
    loyalty: dict[str, Any] = field(default_factory=dict)


def get_settings(shop: Shop) -> ProgramSettings:
    """The shop's settings, created with the defaults on first use."""
    return row_of_shop(ProgramSettings, shop)


def referee_value(settings: ProgramSettings) -> DiscountValue:
    return DiscountValue(settings.referee_offer_type, settings.referee_offer_value)


def reward_value(settings: ProgramSettings) -> DiscountValue:
    return DiscountValue(settings.reward_type, settings.reward_value)


def language_of(locale: str | None) -> str:
    """ "fr-CA" → "fr"; empty → ""."""
    return re.split(r"[-_]", (locale or "").strip().lower(), maxsplit=1)[0]


def email_language(shop: Shop, customer_locale: str | None) -> str:
    """The customer's language when the email exists in it, else the shop's, else English."""
    for candidate in (language_of(customer_locale), language_of(shop.locale)):
        if candidate in EMAIL_LANGUAGES:
            return candidate
    return "en"


def shop_language(shop: Shop) -> str:
    return email_language(shop, None)


def email_copy(shop: Shop, settings: ProgramSettings, language: str) -> tuple[str, str]:
    """(subject, body) with placeholders, for a language of EMAIL_LANGUAGES.

    The columns hold the shop language's copy; other languages come from the merchant's
    translations or the built-in defaults. Untouched English column defaults in a shop of
    another language give way to that language's built-in copy.
    """
    translated = (settings.email_translations or {}).get(language)
    if translated:
        return translated["subject"], translated["body"]
    if language == shop_language(shop):
        untouched = (
            settings.email_subject == DEFAULT_COPY["en"]["subject"]
            and settings.email_body == DEFAULT_COPY["en"]["body"]
        )
        if not (untouched and language != "en"):
            return settings.email_subject, settings.email_body
    copy = DEFAULT_COPY.get(language, DEFAULT_COPY["en"])
    return copy["subject"], copy["body"]


def fill_placeholders(text: str, values: Mapping[str, str]) -> str:
    """Replace `{name}` placeholders; plain substitution, never str.format on merchant text."""
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def describe_offer(value: DiscountValue, currency: str, language: str) -> str:
    """ "10% off" / "10 % de réduction": the referee's offer in the email's language."""
    if value.kind == PERCENTAGE:
        amount = f"{value.value}%" if language == "en" else f"{value.value} %"
    else:
        amount = format_money(value.value, currency, language)
    return f"{amount} off" if language == "en" else f"{amount} de réduction"


def describe_reward(value: DiscountValue, currency: str, language: str) -> str:
    offer = describe_offer(value, currency, language)
    if language == "en":
        return f"{offer} your next order"
    return f"{offer} sur votre prochaine commande"


# --- saving the settings -----------------------------------------------------------------------


def apply_settings(shop: Shop, changes: SettingsChanges) -> ProgramSettings:
    """Write a validated Program form (see `program.forms`); the caller commits.

    The shop language's copy goes in the columns; another language's copy is kept only when
    it differs from the built-in default, so a later improvement of a default reaches shops
    that never edited it.
    """
    settings = get_settings(shop)
    settings.referee_offer_type = changes.referee_offer.kind
    settings.referee_offer_value = changes.referee_offer.value
    settings.reward_type, settings.reward_value = changes.reward.kind, changes.reward.value
    settings.min_order_minor = changes.min_order_minor
    own = shop_language(shop)
    settings.email_subject, settings.email_body = changes.copies[own]
    translations = {}
    for language, (subject, body) in changes.copies.items():
        default = DEFAULT_COPY[language]
        if language != own and (subject, body) != (default["subject"], default["body"]):
            translations[language] = {"subject": subject, "body": body}
    settings.email_translations = translations or None
    for name, value in changes.loyalty.items():
        setattr(settings, name, value)
    settings.saved_at = utcnow()
    return settings


# --- joining -----------------------------------------------------------------------------------


def code_prefix(customer: Customer) -> str:
    """Up to 8 letters of the first name (accents folded), so the code reads as theirs."""
    source = customer.first_name or (customer.email or "").split("@")[0] or "friend"
    folded = unicodedata.normalize("NFKD", source).encode("ascii", "ignore").decode()
    letters = re.sub(r"[^A-Za-z]", "", folded).upper()[:8]
    return letters or "FRIEND"


def new_referral_code(customer: Customer) -> str:
    """NAME-XXXXXXX: human-friendly, unguessable (31^7 ≈ 2.7e10 suffixes per name)."""
    suffix = "".join(secrets.choice(CODE_ALPHABET) for _ in range(REFERRAL_CODE_LENGTH))
    return f"{code_prefix(customer)}-{suffix}"


def join_program(shop: Shop, customer: Customer) -> Customer:
    """Join the customer (idempotent): a joined date and a unique referral code."""
    if customer.shop_id != shop.id:
        raise ValueError("customer belongs to another shop")
    if customer.referral_code and customer.joined_at:
        return customer
    for _ in range(5):
        code = customer.referral_code or new_referral_code(customer)
        try:
            with db.session.begin_nested():
                customer.referral_code = code
                customer.joined_at = customer.joined_at or utcnow()
        except IntegrityError:
            continue  # the random code is taken (by anyone): draw another
        send_to_klaviyo(shop)
        return customer
    raise RuntimeError("could not draw a unique referral code")


def joinable(shop: Shop) -> ColumnElement[bool]:
    """The shop's customers that joining changes: not joined yet, not deleted or erased."""
    return and_(
        Customer.shop_id == shop.id,
        Customer.joined_at.is_(None),
        Customer.deleted_at.is_(None),
        Customer.redacted_at.is_(None),
    )


def join_customers(shop: Shop, customer_ids: Iterable[int]) -> int:
    """Join many customers (those not joined yet, not deleted); returns how many joined now.

    One multi-row UPDATE per chunk; in the rare chunk where a random code collides, each
    customer of that chunk is joined on its own so only the colliding one draws again.
    """
    ids = list(customer_ids)
    table = Customer.__table__
    statement = (
        update(table)
        .where(table.c.id == bindparam("cid"), table.c.joined_at.is_(None))
        .values(referral_code=bindparam("code"), joined_at=bindparam("now"))
    )
    joined = 0
    for start in range(0, len(ids), 500):
        customers = db.session.scalars(
            select(Customer).where(joinable(shop), Customer.id.in_(ids[start : start + 500]))
        ).all()
        if not customers:
            continue
        now = utcnow()
        params = [
            {"cid": c.id, "code": c.referral_code or new_referral_code(c), "now": now}
            for c in customers
        ]
        try:
            with db.session.begin_nested():
                db.session.execute(statement, params)
        except IntegrityError:
            for customer in customers:
                join_program(shop, customer)
        else:
            for customer in customers:
                db.session.expire(customer, ["referral_code", "joined_at"])
        joined += len(customers)
    if joined:
        send_to_klaviyo(shop)
    return joined


def set_audience(shop: Shop, segment: Segment, *, invite: bool = False) -> ProgramSettings:
    """Make the segment the program's audience (its members are enrolled by the batch job);
    `invite`: members who arrive later are invited too."""
    if segment.shop_id != shop.id:
        raise ValueError("segment belongs to another shop")
    settings = get_settings(shop)
    db.session.execute(
        update(Segment)
        .where(Segment.shop_id == shop.id, Segment.id != segment.id)
        .values(is_program_audience=False)
    )
    segment.is_program_audience = True
    settings.audience_segment_id = segment.id
    settings.audience_invites = invite
    return settings
