"""What the Invite dialog shows before anything is sent: counts, names, the emails themselves.

Read-only and bounded (a few samples, one example email per language group), so the dialog
opens quickly for a selection of any size; the batch job recounts with the same predicates.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import LargeBinary, cast, func, or_, select

from shopify_app.invitations.rendering import RenderedEmail, render_invitation
from shopify_app.invitations.selection import (
    INVITE,
    SKIP_REASONS,
    Selection,
    count_by_reason,
    in_selection,
    skip_reason,
)
from shopify_app.platform.db import is_postgresql
from shopify_app.platform.extensions import db
from shopify_app.platform.models import Customer, Shop
from shopify_app.program import config as program


@dataclass
class InvitePreview:
    """What the Invite dialog shows before anything is sent."""

    selection: Selection
    invite_count: int
    skipped: dict[str, int]
    invitees: list[Customer]
    skipped_samples: list[tuple[Customer, str]]
    previews: list[tuple[RenderedEmail, int]] = field(default_factory=list)
    #: invitees whose address has international characters before the @ (needs SMTPUTF8).
    international: list[str] = field(default_factory=list)

    @property
    def skipped_count(self) -> int:
        return sum(self.skipped.values())


def preview_selection(shop: Shop, selection: Selection, sample: int = 8) -> InvitePreview:
    """Counts by outcome, a few names of each, and the email as each language group gets it."""
    counts = count_by_reason(shop, selection)
    reason = skip_reason(shop, selection.enrol)
    base = select(Customer, reason.label("reason")).where(in_selection(shop, selection))
    invitees = (
        db.session.execute(base.where(reason == INVITE).order_by(Customer.id).limit(sample))
        .scalars()
        .all()
    )
    skipped = db.session.execute(
        base.where(reason != INVITE).order_by(Customer.id).limit(sample)
    ).all()
    groups: dict[str, tuple[int, list[str | None]]] = {}
    for locale, count in db.session.execute(
        select(Customer.locale, func.count())
        .where(in_selection(shop, selection), reason == INVITE)
        .group_by(Customer.locale)
    ).all():
        language = program.email_language(shop, locale)
        total, locales = groups.get(language, (0, []))
        groups[language] = (total + count, [*locales, locale])
    previews = []
    settings = program.get_settings(shop)
    for language, (count, locales) in sorted(groups.items(), key=lambda item: -item[1][0]):
        known = [loc for loc in locales if loc is not None]
        in_group = Customer.locale.in_(known)
        if None in locales:
            in_group = or_(in_group, Customer.locale.is_(None))
        example = db.session.execute(
            select(Customer)
            .where(in_selection(shop, selection), reason == INVITE, in_group)
            .order_by(Customer.id)
            .limit(1)
        ).scalar_one_or_none()
        if example is not None:
            previews.append((render_invitation(shop, settings, example, language), count))
    return InvitePreview(
        selection=selection,
        invite_count=counts.get(INVITE, 0),
        skipped={k: counts[k] for k in SKIP_REASONS if counts.get(k)},
        invitees=list(invitees),
        skipped_samples=[(row[0], row[1]) for row in skipped],
        previews=previews,
        international=international_addresses(shop, selection),
    )


def international_addresses(shop: Shop, selection: Selection, limit: int = 1000) -> list[str]:
    """Invitees' addresses with non-ASCII characters before the @, flagged in the dialog.

    They go out only through a server that offers SMTPUTF8; the merchant learns it before
    sending. (A non-ASCII domain alone is fine: it is sent in its ASCII form.)
    """
    email = Customer.email
    if is_postgresql():
        non_ascii = func.octet_length(email) != func.char_length(email)
    else:
        non_ascii = func.length(cast(email, LargeBinary)) != func.length(email)
    rows = db.session.scalars(
        select(email)
        .where(in_selection(shop, selection), skip_reason(shop, selection.enrol) == INVITE)
        .where(non_ascii)
        .order_by(Customer.id)
        .limit(limit)
    ).all()
    return [address for address in rows if not address.rpartition("@")[0].isascii()]
