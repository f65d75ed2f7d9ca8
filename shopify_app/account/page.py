"""What the shopper's page shows, gathered as plain data in a handful of index-backed queries.

The page must stay fast for a customer with thousands of ledger rows: the history is one
keyset page on `ix_points_entries_customer_id_id`, the codes one page on
`ix_redemptions_customer_id_id`, the rewards the shop's active catalogue (a few rows).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote, urlencode

from sqlalchemy import select

from shopify_app.loyalty.catalogue import describe_value, rewards_of
from shopify_app.loyalty.redeeming import RedemptionItem, redemptions_of
from shopify_app.platform.extensions import db
from shopify_app.platform.models import Customer, PointsEntry, Redemption, Shop
from shopify_app.platform.models.loyalty import (
    REDEMPTION_FAILED,
    REDEMPTION_ISSUED,
)
from shopify_app.platform.money import format_money
from shopify_app.referrals.links import referral_link

HISTORY_PAGE = 20
CODES_SHOWN = 20
#: the storefront prefix of the app proxy (`/apps/referrals` in shopify.app.toml); Shopify
#: sends the one the merchant chose as the signed `path_prefix`.
DEFAULT_PREFIX = "/apps/referrals"
_PREFIX = re.compile(r"/(apps|a|community|tools)/[A-Za-z0-9_-]{1,64}")
#: fixed messages for `?notice=`: nothing from the query is ever printed.
NOTICES = {
    "points": ("warning", "You don't have enough points for that reward yet."),
    "unavailable": ("warning", "That reward is no longer available."),
    "expired": ("warning", "That page was open too long. Please try again."),
    "joined": ("success", "You've joined! Share your link below."),
}


@dataclass(frozen=True)
class HistoryRow:
    created_at: datetime
    description: str
    delta: int


@dataclass(frozen=True)
class RewardOption:
    id: int
    title: str
    points_cost: int
    discount: str | None
    min_order: str | None
    points_needed: int

    @property
    def affordable(self) -> bool:
        return self.points_needed == 0


@dataclass(frozen=True)
class CodeRow:
    title: str
    code: str
    discount: str | None
    status: str
    used: bool
    created_at: datetime


@dataclass(frozen=True)
class ShareLinks:
    email: str
    whatsapp: str
    x: str


@dataclass(frozen=True)
class Notice:
    tone: str
    message: str
    code: str | None = None


@dataclass(frozen=True)
class AccountPage:
    name: str
    balance: int
    history: list[HistoryRow]
    #: the ledger id to pass as `before` for the older page, when there is one.
    older_before: int | None
    rewards: list[RewardOption]
    codes: list[CodeRow]
    referral_link: str | None
    share: ShareLinks | None
    notice: Notice | None


def storefront_prefix(path_prefix: str | None) -> str:
    """The app proxy's storefront prefix from the signed query, or the configured default."""
    return path_prefix if path_prefix and _PREFIX.fullmatch(path_prefix) else DEFAULT_PREFIX


def logged_in_customer(shop: Shop, raw_id: str | None) -> Customer | None:
    """The shop's customer Shopify says is signed in (`logged_in_customer_id`), if we know them."""
    if not raw_id or not raw_id.isdigit() or len(raw_id) > 19:
        return None
    return db.session.execute(
        select(Customer).where(
            Customer.shop_id == shop.id,
            Customer.shopify_id == int(raw_id),
            Customer.deleted_at.is_(None),
            Customer.redacted_at.is_(None),
        )
    ).scalar_one_or_none()


def request_token(secret: str, shop: Shop, customer: Customer) -> str:
    """A form's request id: random (a double submit repeats it, a new form draws another) and
    signed for this customer, so another site cannot make a shopper's browser post one."""
    nonce = secrets.token_urlsafe(16)
    return f"{nonce}.{_mac(secret, shop, customer, nonce)}"


def valid_request_token(secret: str, shop: Shop, customer: Customer, token: str) -> bool:
    nonce, _, mac = token.partition(".")
    return bool(nonce) and hmac.compare_digest(mac, _mac(secret, shop, customer, nonce))


def _mac(secret: str, shop: Shop, customer: Customer, nonce: str) -> str:
    message = f"account:{shop.id}:{customer.id}:{nonce}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()[:24]


def account_page(
    shop: Shop,
    customer: Customer,
    *,
    before: int | None = None,
    redeemed: int | None = None,
    notice: str | None = None,
) -> AccountPage:
    """The balance, a page of history, the catalogue against the balance, codes, the link."""
    balance = customer.points_balance
    history_query = (
        select(PointsEntry.id, PointsEntry.created_at, PointsEntry.description, PointsEntry.delta)
        .where(PointsEntry.customer_id == customer.id, PointsEntry.shop_id == shop.id)
        .order_by(PointsEntry.id.desc())
        .limit(HISTORY_PAGE + 1)
    )
    if before is not None:
        history_query = history_query.where(PointsEntry.id < before)
    entries = db.session.execute(history_query).all()
    currency, locale = shop.currency, shop.locale
    rewards = [
        RewardOption(
            id=r.id,
            title=r.title,
            points_cost=r.points_cost,
            discount=_unless_titled(r.title, describe_value(r.kind, r.value, currency, locale)),
            min_order=format_money(r.min_order_minor, currency, locale)
            if r.min_order_minor
            else None,
            points_needed=max(r.points_cost - balance, 0),
        )
        for r in rewards_of(shop, active_only=True)
    ]
    codes = [_code_row(item, currency, locale) for item in redemptions_of(shop, customer.id)]
    link = referral_link(shop, customer) if customer.joined_at else None
    return AccountPage(
        name=customer.first_name or customer.display_name,
        balance=balance,
        history=[HistoryRow(e.created_at, e.description, e.delta) for e in entries[:HISTORY_PAGE]],
        older_before=entries[HISTORY_PAGE - 1].id if len(entries) > HISTORY_PAGE else None,
        rewards=rewards,
        codes=codes[:CODES_SHOWN],
        referral_link=link,
        share=share_links(shop, link) if link else None,
        notice=_notice(shop, customer, redeemed, notice),
    )


_ZERO_CENTS = re.compile(r"(\d)[.,]0+\b")


def _unless_titled(title: str, discount: str) -> str | None:
    """The discount's wording, or None when the merchant's title already says it ("$5 off"
    titled, "$5.00 off" described): the shopper reads the offer once, not twice."""

    def plain(text: str) -> str:
        return "".join(_ZERO_CENTS.sub(r"\1", text.casefold()).split())

    return None if plain(title) == plain(discount) else discount


def _code_row(item: RedemptionItem, currency: str, locale: str | None) -> CodeRow:
    return CodeRow(
        title=item.title,
        code=item.code,
        discount=_unless_titled(
            item.title, describe_value(item.kind, item.value, currency, locale)
        ),
        status=item.status,
        used=item.used,
        created_at=item.created_at,
    )


def _notice(
    shop: Shop, customer: Customer, redeemed: int | None, notice: str | None
) -> Notice | None:
    """What happened to the shopper's last action, in the store's words."""
    if redeemed is not None:
        redemption = db.session.execute(
            select(Redemption).where(
                Redemption.id == redeemed,
                Redemption.shop_id == shop.id,
                Redemption.customer_id == customer.id,
            )
        ).scalar_one_or_none()
        if redemption is None:
            return None
        if redemption.status == REDEMPTION_ISSUED:
            message = "Here's your discount code. Use it at checkout:"
            return Notice("success", message, redemption.code)
        if redemption.status == REDEMPTION_FAILED:
            return Notice("critical", redemption.error or "Your points have been returned.")
        return Notice("info", "Your discount code is on its way. Refresh this page in a moment.")
    if notice in NOTICES:
        tone, message = NOTICES[notice]
        return Notice(tone, message)
    return None


def share_links(shop: Shop, link: str) -> ShareLinks:
    """Email, WhatsApp and X share URLs for the referral link, each part URL-encoded."""
    store = shop.name or shop.domain
    text = f"Here's a discount for {store}: {link}"
    return ShareLinks(
        email="mailto:?"
        + urlencode({"subject": f"A discount for {store}", "body": text}, quote_via=quote),
        whatsapp="https://wa.me/?" + urlencode({"text": text}, quote_via=quote),
        x="https://x.com/intent/tweet?"
        + urlencode({"text": f"A discount for {store}", "url": link}, quote_via=quote),
    )


def account_url(prefix: str, **query: str | int) -> str:
    """The page's storefront URL (through the app proxy), with a query of our own making."""
    return f"{prefix}/account" + ("?" + urlencode(query) if query else "")


def login_url(prefix: str) -> str:
    """Shopify's customer sign-in, coming back to this page."""
    return "/account/login?" + urlencode({"return_url": f"{prefix}/account"})
