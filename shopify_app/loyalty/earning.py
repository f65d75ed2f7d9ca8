"""Points for an account becoming enabled, a completed referral and an imported event.

Each is a ledger row keyed on its source (`account:<customer id>`, `referral:<id>:referrer`,
`referral:<id>:referee`, `event:<name>:<key>`), so a repeated webhook or a re-imported event
earns once. Descriptions are what the shopper reads in their history: plain words and the
other person's first name, never an internal name.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager

from sqlalchemy import select

from shopify_app.loyalty.credits import Credit, add_credits
from shopify_app.loyalty.ledger import add_points
from shopify_app.platform.extensions import db
from shopify_app.platform.models import Customer, PointsEntry, Referral, Shop
from shopify_app.platform.models.customer import MEMBER_STATES
from shopify_app.program.config import get_settings

ACCOUNT_DESCRIPTION = "Welcome: account created"
REFERRER, REFEREE = "referrer", "referee"
MAX_KEY = 120


# --- accounts ----------------------------------------------------------------------------------


@contextmanager
def accounts_watched(
    shop: Shop, shopify_ids: Iterable[int], *, new_customers_earn: bool = True
) -> Iterator[None]:
    """Around an upsert of Shopify customers: award the account points to each whose account
    became enabled inside the block, once (`account:<customer id>`), while the rule is on.

    Only a change seen while the rule is on earns, never an account that was enabled before,
    so turning the rule on does not reward every existing member.

    Args:
        new_customers_earn: a customer unknown before the block and enabled after it earns (a
            webhook: the account is new); False for the sync, whose first run stores every
            existing customer and must not reward them all.
    """
    settings = get_settings(shop)
    ids = sorted(set(shopify_ids))
    if not (settings.earn_account and settings.account_points > 0 and ids):
        yield
        return
    before = dict(
        db.session.execute(
            select(Customer.shopify_id, Customer.state).where(
                Customer.shop_id == shop.id, Customer.shopify_id.in_(ids)
            )
        ).all()
    )
    yield
    enabled = db.session.execute(
        select(Customer.id, Customer.shopify_id).where(
            Customer.shop_id == shop.id,
            Customer.shopify_id.in_(ids),
            Customer.state.in_(MEMBER_STATES),
            Customer.deleted_at.is_(None),
            Customer.redacted_at.is_(None),
        )
    ).all()
    credits = [
        Credit(cid, settings.account_points, "account", f"account:{cid}", ACCOUNT_DESCRIPTION)
        for cid, sid in enabled
        if (before[sid] not in MEMBER_STATES if sid in before else new_customers_earn)
    ]
    add_credits(shop, credits)


# --- referrals ---------------------------------------------------------------------------------


def earn_for_referrals(shop: Shop, referrals: Sequence[Referral]) -> None:
    """Referrals that completed now: the referrer and the referee get their points, while the
    rule is on. A referral that completes again after a reversal earns again, once per order."""
    settings = get_settings(shop)
    if not referrals or not settings.earn_referral:
        return
    names = _first_names(shop, referrals)
    held = _held_for_referrals(shop, referrals)
    credits = []
    for referral in referrals:
        sides = (
            (REFERRER, referral.referrer_id, settings.referrer_points, referral.referee_id),
            (REFEREE, referral.referee_id, settings.referee_points, referral.referrer_id),
        )
        for side, customer_id, points, other in sides:
            if customer_id is None or points <= 0:
                continue
            base = _referral_key(referral.id, side)
            rows = held.get(base, {})
            if sum(rows.values()) > 0:
                continue  # earned and not reversed
            key = base if base not in rows else f"{base}:{referral.order_id}"
            name = names.get(other) if other is not None else None
            if side == REFERRER:
                text = f"Referred {name}" if name else "Referred a friend"
            else:
                text = f"Referred by {name}" if name else "Referred by a friend"
            credits.append(Credit(customer_id, points, "referral", key, text))
    add_credits(shop, credits)


def reverse_referral_points(shop: Shop, referrals: Sequence[Referral], order_id: int) -> None:
    """Referrals whose order was cancelled or fully refunded: take back what each side still
    holds from them (never below zero), whether the rule is on or not."""
    if not referrals:
        return
    names = _first_names(shop, referrals)
    held = _held_for_referrals(shop, referrals)
    for referral in referrals:
        for side, customer_id, other in (
            (REFERRER, referral.referrer_id, referral.referee_id),
            (REFEREE, referral.referee_id, referral.referrer_id),
        ):
            base = _referral_key(referral.id, side)
            left = sum(held.get(base, {}).values())
            customer = db.session.get(Customer, customer_id) if customer_id else None
            if left <= 0 or customer is None:
                continue
            name = names.get(other) if other is not None else None
            add_points(
                shop,
                customer,
                -left,
                description=f"Referral of {name} reversed" if name else "Referral reversed",
                source="referral",
                source_key=f"{base}:reversed:{order_id}",
                partial=True,
            )


def _referral_key(referral_id: int, side: str) -> str:
    return f"referral:{referral_id}:{side}"


def _first_names(shop: Shop, referrals: Sequence[Referral]) -> dict[int, str]:
    people = {r.referrer_id for r in referrals} | {r.referee_id for r in referrals if r.referee_id}
    return {
        cid: name
        for cid, name in db.session.execute(
            select(Customer.id, Customer.first_name).where(
                Customer.shop_id == shop.id, Customer.id.in_(people)
            )
        ).all()
        if name
    }


def _held_for_referrals(shop: Shop, referrals: Sequence[Referral]) -> dict[str, dict[str, int]]:
    """{`referral:<id>:<side>`: {source_key: delta}} of every row the referrals wrote."""
    bases = {_referral_key(r.id, side) for r in referrals for side in (REFERRER, REFEREE)}
    people = {r.referrer_id for r in referrals} | {r.referee_id for r in referrals if r.referee_id}
    held: defaultdict[str, dict[str, int]] = defaultdict(dict)
    for key, delta in db.session.execute(
        select(PointsEntry.source_key, PointsEntry.delta).where(
            PointsEntry.shop_id == shop.id,
            PointsEntry.customer_id.in_(people),
            PointsEntry.source == "referral",
        )
    ).all():
        base = ":".join((key or "").split(":")[:3])
        if base in bases:
            held[base][key] = delta
    return held


# --- events ------------------------------------------------------------------------------------


def earn_for_event(
    shop: Shop, customer: Customer, event_name: str, event_key: str
) -> PointsEntry | None:
    """The points the program gives for an event of that name, once per event key; None when
    the rule is off, the name has no points, or the key earned before."""
    settings = get_settings(shop)
    points = (settings.event_points or {}).get(event_name, 0)
    if not settings.earn_events or points <= 0:
        return None
    return add_points(
        shop,
        customer,
        points,
        description=event_description(event_name),
        source="event",
        source_key=event_source_key(event_name, event_key),
    )


def event_description(event_name: str) -> str:
    """ "review_posted" → "Review posted": the merchant's event name, in words."""
    words = event_name.replace("_", " ").replace("-", " ").strip()
    return words[:1].upper() + words[1:] if words else "Points for an event"


def event_source_key(event_name: str, event_key: str) -> str:
    """`event:<name>:<key>`, or a digest of both when that would not fit the column."""
    key = f"event:{event_name}:{event_key}"
    if len(key) <= MAX_KEY:
        return key
    digest = hashlib.sha256(f"{event_name}\0{event_key}".encode()).hexdigest()
    return f"event:{digest}"
