"""Invitations: who a selection invites and who it skips (and why), batches, claims, results.

One invitation per customer (a unique index): a second batch re-queues a failed invitation and
skips every other one, so no one is invited twice by accident; "Resend" is explicit. Workers
claim invitations with a conditional UPDATE (`FOR UPDATE SKIP LOCKED` on PostgreSQL), so two
workers on the same batch never send one email twice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import render_template
from markupsafe import Markup, escape
from sqlalchemy import (
    LargeBinary,
    Select,
    and_,
    case,
    cast,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from shopify_app.customers.queries import matching_customer_ids
from shopify_app.invitations.unsubscribe import unsubscribe_url
from shopify_app.platform.db import is_postgresql
from shopify_app.platform.errors import NotFound
from shopify_app.platform.extensions import db
from shopify_app.platform.models import Customer, Invitation, InvitationBatch, Segment, Shop
from shopify_app.platform.models.base import utcnow
from shopify_app.platform.models.invitation import (
    BATCH_DONE,
    BATCH_PREPARING,
    FAILED,
    QUEUED,
    SENDING,
    SENT,
)
from shopify_app.platform.retry import RetryPolicy
from shopify_app.program import config as program
from shopify_app.referrals.links import referral_link
from shopify_app.segments import store as segments

PREPARING, DONE = BATCH_PREPARING, BATCH_DONE
INVITE = "invite"
#: why a selected customer gets no invitation, in the order the reasons are checked.
SKIP_REASONS = {
    "deleted": "Deleted in Shopify",
    "unsubscribed": "Unsubscribed from invitations",
    "no_email": "No email address",
    "already_invited": "Already invited",
    "already_joined": "Already joined the program",
}
MAX_ATTEMPTS = 5
#: a claim older than this never finished (its worker died mid-send); it is not re-sent blindly.
CLAIM_LEASE = timedelta(minutes=10)
MAX_EXPLICIT_IDS = 5000


class InvalidSelection(ValueError):
    """The Invite request names no customers, or names them in a way we cannot use."""


@dataclass(frozen=True)
class Selection:
    """Who to invite: explicit ids, every customer matching the table's filters, or a segment.

    `enrol` is the audience step: members join in the same step, so being joined already is
    no reason to skip them.
    """

    customer_ids: tuple[int, ...] = ()
    matching: Mapping[str, str] | None = None
    segment_id: int | None = None
    enrol: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "customer_ids": list(self.customer_ids),
            "matching": dict(self.matching) if self.matching is not None else None,
            "segment_id": self.segment_id,
            "enrol": self.enrol,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Selection:
        return cls(
            customer_ids=tuple(int(i) for i in data.get("customer_ids") or ()),
            matching=data.get("matching"),
            segment_id=data.get("segment_id"),
            enrol=bool(data.get("enrol")),
        )

    def query_args(self) -> list[tuple[str, str]]:
        """The same selection as request parameters (the dialog's form posts them back)."""
        if self.segment_id is not None:
            return [("segment_id", str(self.segment_id))]
        if self.matching is not None:
            return [("matching", "1"), *((k, v) for k, v in self.matching.items())]
        return [("customer_id", str(i)) for i in self.customer_ids]


MATCHING_FILTERS = ("status", "program", "q")


def parse_selection(args: Any) -> Selection:
    """A Selection from request args/form (a MultiDict); raises InvalidSelection."""
    if args.get("segment_id"):
        if not str(args["segment_id"]).isdigit():
            raise InvalidSelection("That segment does not exist.")
        return Selection(segment_id=int(args["segment_id"]))
    if args.get("matching") == "1":
        return Selection(matching={k: args[k] for k in MATCHING_FILTERS if args.get(k)})
    raw = args.getlist("customer_id")
    if not raw:
        raise InvalidSelection("Select at least one customer to invite.")
    if len(raw) > MAX_EXPLICIT_IDS:
        raise InvalidSelection("Too many customers selected; use “select all matching”.")
    if not all(value.isdigit() for value in raw):
        raise InvalidSelection("The selection contains an invalid customer id.")
    return Selection(customer_ids=tuple(dict.fromkeys(int(v) for v in raw)))


def selected_ids(shop: Shop, selection: Selection) -> Select:
    """The selection as a SELECT of customer ids, always within the shop."""
    if selection.segment_id is not None:
        segment = db.session.execute(
            select(Segment).where(Segment.id == selection.segment_id, Segment.shop_id == shop.id)
        ).scalar_one_or_none()
        if segment is None:
            raise NotFound("segment not found")
        return segments.member_ids(shop, segment)
    if selection.matching is not None:
        return matching_customer_ids(shop, selection.matching)
    return select(Customer.id).where(
        Customer.shop_id == shop.id, Customer.id.in_(selection.customer_ids)
    )


def _reason(shop: Shop, enrol: bool):
    """SQL CASE naming why a customer is skipped, or INVITE."""
    other = aliased(Invitation)
    invited = exists().where(
        other.shop_id == shop.id, other.customer_id == Customer.id, other.status != FAILED
    )
    whens = [
        (or_(Customer.deleted_at.is_not(None), Customer.redacted_at.is_not(None)), "deleted"),
        (Customer.unsubscribed.is_(True), "unsubscribed"),
        (Customer.email_key.is_(None), "no_email"),
        (invited, "already_invited"),
    ]
    if not enrol:
        whens.append((Customer.joined_at.is_not(None), "already_joined"))
    return case(*whens, else_=INVITE)


def _in_selection(shop: Shop, selection: Selection):
    return and_(
        Customer.shop_id == shop.id,
        Customer.id.in_(selected_ids(shop, selection).scalar_subquery()),
    )


def count_by_reason(shop: Shop, selection: Selection) -> dict[str, int]:
    reason = _reason(shop, selection.enrol)
    rows = db.session.execute(
        select(reason, func.count())
        .select_from(Customer)
        .where(_in_selection(shop, selection))
        .group_by(reason)
    ).all()
    return {name: count for name, count in rows}


@dataclass(frozen=True)
class RenderedEmail:
    language: str
    subject: str
    text: str
    html: str


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
    reason = _reason(shop, selection.enrol)
    base = select(Customer, reason.label("reason")).where(_in_selection(shop, selection))
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
        .where(_in_selection(shop, selection), reason == INVITE)
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
            .where(_in_selection(shop, selection), reason == INVITE, in_group)
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
        .where(_in_selection(shop, selection), _reason(shop, selection.enrol) == INVITE)
        .where(non_ascii)
        .order_by(Customer.id)
        .limit(limit)
    ).all()
    return [address for address in rows if not address.rpartition("@")[0].isascii()]


# --- the email ----------------------------------------------------------------------------------


def render_invitation(
    shop: Shop, settings: Any, customer: Customer, language: str | None = None
) -> RenderedEmail:
    """The invitation in the customer's language (or the shop's), placeholders filled."""
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
    }
    return RenderedEmail(
        language=language,
        subject=program.fill_placeholders(subject, values).replace("\n", " ").strip(),
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


# --- batches ------------------------------------------------------------------------------------


def create_batch(shop: Shop, selection: Selection, *, send: bool = True) -> InvitationBatch:
    """A batch waiting for its prepare job (which expands large selections off the request).

    `send=False` is the audience step without invitations: it only enrols.
    """
    if selection.segment_id is not None:
        selected_ids(shop, selection)  # a segment of another shop is refused here
    batch = InvitationBatch(
        shop_id=shop.id, status=PREPARING, selection={**selection.to_json(), "send": send}
    )
    db.session.add(batch)
    db.session.flush()
    return batch


def prepare_batch(shop: Shop, batch: InvitationBatch, *, send: bool = True) -> int:
    """Enrol (audience step) and create the batch's invitations; returns how many to send.

    Idempotent: invitations are inserted only for customers without one, and failed ones are
    re-queued into this batch; running it twice changes nothing more.
    """
    selection = Selection.from_json(batch.selection or {})
    counts = count_by_reason(shop, selection)
    enrolled = 0
    if selection.enrol:
        ids = db.session.execute(selected_ids(shop, selection)).scalars().all()
        enrolled = program.join_customers(shop, ids)
    if send:
        _queue_invitations(shop, batch, selection)
    total = db.session.execute(
        select(func.count()).select_from(Invitation).where(Invitation.batch_id == batch.id)
    ).scalar_one()
    batch.total = total
    batch.summary = {
        "skipped": {k: counts[k] for k in SKIP_REASONS if counts.get(k)},
        "enrolled": enrolled,
        "invited": total,
    }
    batch.status = "sending" if total else DONE
    batch.started_at = batch.started_at or utcnow()
    if not total:
        batch.finished_at = utcnow()
    return total


def _queue_invitations(shop: Shop, batch: InvitationBatch, selection: Selection) -> None:
    eligible = and_(_in_selection(shop, selection), _reason(shop, selection.enrol) == INVITE)
    now = utcnow()
    db.session.execute(
        update(Invitation)
        .where(
            Invitation.shop_id == shop.id,
            Invitation.status == FAILED,
            Invitation.customer_id.in_(select(Customer.id).where(eligible).scalar_subquery()),
        )
        .values(
            batch_id=batch.id,
            status=QUEUED,
            attempts=0,
            error=None,
            next_attempt_at=None,
            claimed_at=None,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    stamp = literal(now, Invitation.__table__.c.created_at.type)
    rows = select(
        literal(shop.id),
        Customer.id,
        literal(batch.id),
        Customer.email,
        literal(QUEUED),
        literal(0),
        stamp,
        stamp,
    ).where(
        eligible,
        ~exists().where(Invitation.shop_id == shop.id, Invitation.customer_id == Customer.id),
    )
    columns = ["shop_id", "customer_id", "batch_id", "email", "status", "attempts"]
    try:
        with db.session.begin_nested():
            db.session.execute(
                insert(Invitation).from_select([*columns, "created_at", "updated_at"], rows)
            )
    except IntegrityError:
        # Another batch invited some of them in the meantime: insert the rest.
        db.session.execute(
            insert(Invitation).from_select([*columns, "created_at", "updated_at"], rows)
        )


@dataclass(frozen=True)
class Claimed:
    invitation_id: int
    customer_id: int
    attempts: int


def claim_invitations(shop: Shop, batch_id: int, limit: int) -> list[Claimed]:
    """Atomically take up to `limit` due invitations of the batch for this worker.

    The CTE locks the rows it picks and skips those another worker holds; the UPDATE re-checks
    the status, so a row is claimed by exactly one worker even without SKIP LOCKED (SQLite).
    """
    now = utcnow()
    row = aliased(Invitation)  # a separate FROM: never correlated to the UPDATE's own rows
    due = (
        select(row.id)
        .where(
            row.batch_id == batch_id,
            row.shop_id == shop.id,
            row.status == QUEUED,
            or_(row.next_attempt_at.is_(None), row.next_attempt_at <= now),
        )
        .order_by(row.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .cte("due")  # evaluated once: an IN (subquery) may be re-run and over-claim
    )
    rows = db.session.execute(
        update(Invitation)
        .where(Invitation.id == due.c.id, Invitation.status == QUEUED)
        .values(status=SENDING, claimed_at=now, attempts=Invitation.attempts + 1, updated_at=now)
        .returning(Invitation.id, Invitation.customer_id, Invitation.attempts)
        .execution_options(synchronize_session=False)
    ).all()
    return sorted((Claimed(*row) for row in rows), key=lambda c: c.invitation_id)


#: a temporary mail failure is tried again after 30 s, 60 s, 2 min … at most an hour.
RESEND_BACKOFF = RetryPolicy(first_delay=30.0, max_delay=3600.0)


@dataclass
class SendResults:
    """Outcomes of one claimed chunk, recorded in one statement per outcome."""

    sent: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)
    retry: dict[int, tuple[str, int]] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return len(self.sent) + len(self.failed) + len(self.retry)

    def transient(self, claimed: Claimed, error: str) -> None:
        if claimed.attempts >= MAX_ATTEMPTS:
            self.failed[claimed.invitation_id] = error
        else:
            self.retry[claimed.invitation_id] = (error, claimed.attempts)


def record_results(shop: Shop, batch_id: int, results: SendResults) -> None:
    now = utcnow()
    options = {"synchronize_session": False}
    if results.sent:
        db.session.execute(
            update(Invitation)
            .where(Invitation.id.in_(results.sent), Invitation.shop_id == shop.id)
            .values(status=SENT, sent_at=now, error=None, next_attempt_at=None, updated_at=now)
            .execution_options(**options)
        )
    for invitation_id, error in results.failed.items():
        db.session.execute(
            update(Invitation)
            .where(Invitation.id == invitation_id, Invitation.shop_id == shop.id)
            .values(status=FAILED, error=error[:2000], next_attempt_at=None, updated_at=now)
            .execution_options(**options)
        )
    for invitation_id, (error, attempts) in results.retry.items():
        db.session.execute(
            update(Invitation)
            .where(Invitation.id == invitation_id, Invitation.shop_id == shop.id)
            .values(
                status=QUEUED,
                error=error[:2000],
                next_attempt_at=now + RESEND_BACKOFF.wait(attempts),
                updated_at=now,
            )
            .execution_options(**options)
        )
    refresh_batch(shop, batch_id)


def refresh_batch(shop: Shop, batch_id: int) -> InvitationBatch | None:
    """Recount the batch from its invitations; mark it done when nothing is left to send."""
    counts = dict(
        db.session.execute(
            select(Invitation.status, func.count())
            .where(Invitation.batch_id == batch_id, Invitation.shop_id == shop.id)
            .group_by(Invitation.status)
        ).all()
    )
    batch = db.session.execute(
        select(InvitationBatch)
        .where(InvitationBatch.id == batch_id, InvitationBatch.shop_id == shop.id)
        .with_for_update()
    ).scalar_one_or_none()
    if batch is None:
        return None
    batch.sent, batch.failed = counts.get(SENT, 0), counts.get(FAILED, 0)
    batch.total = sum(counts.values())
    open_ = counts.get(QUEUED, 0) + counts.get(SENDING, 0)
    if batch.status != PREPARING:
        if open_ == 0 and batch.status != DONE:
            batch.status, batch.finished_at = DONE, utcnow()
        elif open_ and batch.status == DONE:
            batch.status, batch.finished_at = "sending", None
    return batch


def resend(shop: Shop, invitation: Invitation) -> InvitationBatch:
    """The merchant's explicit "Resend" of a failed invitation; one that went out never is."""
    if invitation.shop_id != shop.id:
        raise NotFound("invitation not found")
    if invitation.status == SENT:
        raise InvalidSelection(f"The invitation to {invitation.email} was already sent.")
    if invitation.status != FAILED:
        raise InvalidSelection("This invitation is already waiting to be sent.")
    batch = db.session.get(InvitationBatch, invitation.batch_id) if invitation.batch_id else None
    if batch is None or batch.shop_id != shop.id:
        batch = InvitationBatch(shop_id=shop.id, status="sending", started_at=utcnow())
        db.session.add(batch)
        db.session.flush()
    invitation.batch_id = batch.id
    invitation.status, invitation.attempts = QUEUED, 0
    invitation.error = invitation.next_attempt_at = invitation.claimed_at = None
    invitation.sent_at = None
    db.session.flush()
    refresh_batch(shop, batch.id)
    return batch


def resend_failed(shop: Shop, batch: InvitationBatch) -> int:
    """Queue every failed invitation of the batch again (after the merchant fixed the cause).

    Only failed ones: an invitation recorded as sent is never sent twice by a resend.
    """
    if batch.shop_id != shop.id:
        raise NotFound("batch not found")
    now = utcnow()
    count = db.session.execute(
        update(Invitation)
        .where(
            Invitation.shop_id == shop.id,
            Invitation.batch_id == batch.id,
            Invitation.status == FAILED,
        )
        .values(
            status=QUEUED,
            attempts=0,
            error=None,
            next_attempt_at=None,
            claimed_at=None,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    refresh_batch(shop, batch.id)
    return count


def fail_queued(shop: Shop, batch_id: int, reason: str) -> int:
    """Fail the batch's invitations still waiting, at once, when the mail server is down.

    Retrying each for minutes would only hide the outage; the batch page shows the reason
    and the merchant resends once the server is back.
    """
    return db.session.execute(
        update(Invitation)
        .where(
            Invitation.shop_id == shop.id,
            Invitation.batch_id == batch_id,
            Invitation.status == QUEUED,
        )
        .values(status=FAILED, error=reason, next_attempt_at=None, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount


def release_stale_claims(now: datetime | None = None) -> int:
    """Claims whose worker died: mark them failed for an explicit Resend, never re-send."""
    now = now or utcnow()
    return db.session.execute(
        update(Invitation)
        .where(Invitation.status == SENDING, Invitation.claimed_at < now - CLAIM_LEASE)
        .values(
            status=FAILED,
            error="Sending was interrupted; the email may or may not have gone out. Resend it.",
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    ).rowcount


@dataclass(frozen=True)
class Problem:
    """A reason invitations of a batch did not go out (yet), and how many it concerns."""

    reason: str
    count: int
    #: queued again for a later attempt (a temporary failure) rather than failed.
    retrying: bool


def batch_problems(shop: Shop, batch_id: int, limit: int = 5) -> list[Problem]:
    """The batch's failure reasons, most frequent first, for the page while it sends."""
    rows = db.session.execute(
        select(Invitation.status, Invitation.error, func.count().label("n"))
        .where(
            Invitation.shop_id == shop.id,
            Invitation.batch_id == batch_id,
            Invitation.error.is_not(None),
            Invitation.status.in_((FAILED, QUEUED)),
        )
        .group_by(Invitation.status, Invitation.error)
        .order_by(func.count().desc(), Invitation.error)
        .limit(limit)
    ).all()
    return [Problem(error, n, status == QUEUED) for status, error, n in rows]


def batch_progress(batch: InvitationBatch, problems: Sequence[Problem] = ()) -> dict[str, Any]:
    """The JSON the batch page polls: counts, failure reasons as they happen, and a tone
    (a batch with failures is never shown as a success)."""
    done = batch.sent + batch.failed
    finished = batch.status == DONE
    retrying = sum(p.count for p in problems if p.retrying)
    percent = None
    if batch.status != PREPARING:
        percent = 100 * done / batch.total if batch.total else 100
    rate = None
    eta = None
    if batch.started_at is not None and done:
        end = batch.finished_at or utcnow()
        elapsed = max((end - batch.started_at).total_seconds(), 0.001)
        rate = round(done / elapsed, 1)
        if not finished and rate:
            eta = round((batch.total - done) / rate)
    if batch.status == PREPARING:
        message = "Preparing the invitations…"
    elif finished:
        message = f"Done: {batch.sent:,} sent, {batch.failed:,} failed."
    else:
        message = f"Sending: {batch.sent:,} of {batch.total:,} sent"
        message += f", {batch.failed:,} failed" if batch.failed else ""
        message += f", {retrying:,} waiting to retry" if retrying else ""
        message += "."
    if batch.failed and not batch.sent and finished:
        tone = "critical"
    elif batch.failed or retrying:
        tone = "warning"
    else:
        tone = "success" if finished else "info"
    status = {"preparing": "Preparing", "sending": "Sending", "done": "Done"}.get(
        batch.status, batch.status.capitalize()
    )
    return {
        "status": "Done with failures" if finished and batch.failed else status,
        "percent": None if percent is None else round(percent, 1),
        "done": done,
        "total": batch.total,
        "unit": "invitations",
        "sent": batch.sent,
        "failed": batch.failed,
        "retrying": retrying,
        "failures": [
            {"reason": p.reason, "count": p.count, "retrying": p.retrying} for p in problems
        ],
        "tone": tone,
        "rate": rate,
        "eta_seconds": eta,
        "message": message,
        "finished": finished,
        "redirect": None,
    }
