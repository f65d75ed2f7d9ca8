"""Enrolled customers to Klaviyo: profile properties and one "Joined Referral Program" event.

Per customer, `KlaviyoProfile` records what Klaviyo was last sent. A pass reads enrolled
customers whose balance, code or enrolment differ from it, in enrolment order, sends their
profiles in bulk import jobs (10,000 a job) and then, for new enrolments, their events in
bulk create jobs (1,000 a job; each event's `unique_id` is derived from the enrolment, and
Klaviyo dedupes on it), and records what was sent. Balance changes are found by that
comparison, so the ledger's hot path writes nothing for Klaviyo, and any number of changes
while Klaviyo is down go out as one update per customer when it is back, in the same order.

A pass first sends the deletions redactions queued (`KlaviyoDeletion`), one Data Privacy
deletion job per email, each row deleted once Klaviyo accepted it: erasure comes before any
update, and what Klaviyo accepted is not asked again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, exists, or_, select, tuple_

from shopify_app.integrations.klaviyo.client import KlaviyoClient, encode
from shopify_app.platform.db import is_postgresql, upsert_insert
from shopify_app.platform.extensions import db
from shopify_app.platform.models import (
    Customer,
    KlaviyoConnection,
    KlaviyoDeletion,
    KlaviyoProfile,
    PointBalance,
    Shop,
)
from shopify_app.platform.models.base import utcnow
from shopify_app.platform.referral_links import referral_link

log = logging.getLogger(__name__)
METRIC = "Joined Referral Program"
#: customers read per pass: one profile import job's worth.
PER_PASS = 10_000
EVENTS_PER_JOB = 1_000
#: Klaviyo refuses bulk bodies over 5 MB; the envelope gets the rest.
MAX_JOB_BYTES = 5 * 1024 * 1024 - 64 * 1024


@dataclass(frozen=True)
class Pending:
    """An enrolled customer whose Klaviyo profile lags behind, with what to send."""

    customer_id: int
    email: str
    first_name: str
    last_name: str
    locale: str | None
    referral_code: str | None
    joined_at: datetime
    balance: int
    #: the enrolment whose event Klaviyo has (None: none sent yet).
    sent_joined_at: datetime | None

    @property
    def needs_event(self) -> bool:
        return self.sent_joined_at != self.joined_at


@dataclass
class PassResult:
    profiles: int = 0
    events: int = 0
    jobs: int = 0
    deletions: int = 0


def _lagging(shop: Shop) -> Any:
    """Enrolled, reachable customers whose profile differs from what was sent."""
    sent = KlaviyoProfile
    return and_(
        Customer.shop_id == shop.id,
        Customer.joined_at.is_not(None),
        Customer.email.is_not(None),
        Customer.deleted_at.is_(None),
        Customer.redacted_at.is_(None),
        or_(
            sent.customer_id.is_(None),
            sent.balance != PointBalance.balance,
            sent.referral_code.is_distinct_from(Customer.referral_code),
            sent.joined_at.is_distinct_from(Customer.joined_at),
        ),
    )


def _pending_query(shop: Shop) -> Any:
    return (
        select(
            Customer.id,
            Customer.email,
            Customer.first_name,
            Customer.last_name,
            Customer.locale,
            Customer.referral_code,
            Customer.joined_at,
            PointBalance.balance,
            KlaviyoProfile.joined_at,
        )
        .join(PointBalance, PointBalance.customer_id == Customer.id)
        .outerjoin(KlaviyoProfile, KlaviyoProfile.customer_id == Customer.id)
        .where(_lagging(shop))
    )


def pending(
    shop: Shop, after: tuple[datetime, int] | None = None, limit: int = PER_PASS
) -> list[Pending]:
    """The next lagging customers in enrolment order, after the keyset `after`."""
    query = _pending_query(shop)
    if after is not None:
        query = query.where(tuple_(Customer.joined_at, Customer.id) > tuple_(*after))
    rows = db.session.execute(query.order_by(Customer.joined_at, Customer.id).limit(limit)).all()
    return [Pending(*row) for row in rows]


def has_pending(shop: Shop) -> bool:
    """Lagging customers, or deletions Klaviyo has not accepted yet."""
    if db.session.scalar(select(exists().where(KlaviyoDeletion.shop_id == shop.id))):
        return True
    return db.session.execute(_pending_query(shop).limit(1)).first() is not None


def queue_deletions(shop: Shop, emails: list[str]) -> None:
    """Owe Klaviyo the deletion of these profiles (an email already owed is owed once)."""
    values = [{"shop_id": shop.id, "email": e, "requested_at": utcnow()} for e in emails if e]
    if values:
        insert = upsert_insert(KlaviyoDeletion.__table__)
        db.session.execute(
            insert.on_conflict_do_nothing(index_elements=["shop_id", "email"]), values
        )


def send_deletions(shop: Shop, client: KlaviyoClient) -> int:
    """Ask Klaviyo to delete each owed profile, oldest first; a row goes, and is committed,
    the moment Klaviyo accepted its job, so a failure later resends none of them."""
    owed = db.session.execute(
        select(KlaviyoDeletion.id, KlaviyoDeletion.email)
        .where(KlaviyoDeletion.shop_id == shop.id)
        .order_by(KlaviyoDeletion.id)
    ).all()
    db.session.commit()  # no transaction stays open across the calls
    for deletion_id, email in owed:
        client.request_profile_deletion(email)
        db.session.execute(
            delete(KlaviyoDeletion).where(
                KlaviyoDeletion.shop_id == shop.id, KlaviyoDeletion.id == deletion_id
            )
        )
        db.session.commit()
    return len(owed)


def properties(shop: Shop, row: Pending) -> dict[str, Any]:
    """The profile properties a Klaviyo flow or segment reads."""
    return {
        "referral_link": referral_link(shop, row),
        "referral_code": row.referral_code,
        "points_balance": row.balance,
    }


def profile_entry(row: Pending, sent: dict[str, Any]) -> dict[str, Any]:
    """The profile with its properties `sent` (computed once for the profile and event)."""
    attributes: dict[str, Any] = {"email": row.email, "properties": sent}
    if row.first_name:
        attributes["first_name"] = row.first_name
    if row.last_name:
        attributes["last_name"] = row.last_name
    if row.locale:
        attributes["locale"] = row.locale
    return {"type": "profile", "attributes": attributes}


def unique_id(shop: Shop, row: Pending) -> str:
    """One id per enrolment, so a resent event is the same event to Klaviyo."""
    return f"referral-join-{shop.id}-{row.customer_id}-{int(row.joined_at.timestamp())}"


def event_entry(shop: Shop, row: Pending, sent: dict[str, Any]) -> dict[str, Any]:
    """One event-bulk-create entry: the profile and its Joined event."""
    event = {
        "type": "event",
        "attributes": {
            "metric": {"data": {"type": "metric", "attributes": {"name": METRIC}}},
            "properties": sent,
            "time": row.joined_at.isoformat(),
            "unique_id": unique_id(shop, row),
        },
    }
    return {
        "type": "event-bulk-create",
        "attributes": {
            "profile": {"data": {"type": "profile", "attributes": {"email": row.email}}},
            "events": {"data": [event]},
        },
    }


def chunks(
    entries: list[tuple[Pending, dict[str, Any]]], per_job: int
) -> Iterator[list[tuple[Pending, str]]]:
    """Entries JSON-encoded, in jobs of at most `per_job` entries and MAX_JOB_BYTES, in
    order (each is encoded once: measured here, sent as is)."""
    chunk: list[tuple[Pending, str]] = []
    size = 0
    for row, document in entries:
        entry = encode(document)
        length = len(entry) + 1
        if chunk and (len(chunk) >= per_job or size + length > MAX_JOB_BYTES):
            yield chunk
            chunk, size = [], 0
        chunk.append((row, entry))
        size += length
    if chunk:
        yield chunk


def _redacted_meanwhile(shop: Shop, rows: list[Pending]) -> set[int]:
    """Which of the customers a redaction blanked since they were read. Their rows are
    locked: a redaction still running finishes first (and then finds what is recorded)."""
    query = select(Customer.id, Customer.redacted_at).where(
        Customer.shop_id == shop.id, Customer.id.in_([r.customer_id for r in rows])
    )
    if is_postgresql():
        query = query.order_by(Customer.id).with_for_update(of=Customer)
    return {i for i, redacted_at in db.session.execute(query) if redacted_at is not None}


def record_sent(shop: Shop, rows: list[Pending], *, events: bool = True) -> None:
    """Note what Klaviyo now holds of these customers (the values read, not re-read: a
    change made meanwhile still differs and goes in the next pass).

    Without `events` only their profiles went: a customer still owed their event keeps the
    enrolment last evented, so they stay lagging, yet Klaviyo is known to hold a profile.
    A customer redacted while the call was out is not recorded: their profile is owed a
    deletion instead, with the email this pass still holds.
    """
    if not rows:
        return
    redacted = _redacted_meanwhile(shop, rows)
    queue_deletions(shop, [r.email for r in rows if r.customer_id in redacted])
    now = utcnow()
    values = [
        {
            "customer_id": r.customer_id,
            "shop_id": shop.id,
            "balance": r.balance,
            "referral_code": r.referral_code,
            "joined_at": r.joined_at if events or not r.needs_event else r.sent_joined_at,
            "sent_at": now,
        }
        for r in rows
        if r.customer_id not in redacted
    ]
    if not values:
        return
    insert = upsert_insert(KlaviyoProfile.__table__)  # Core: no ORM bookkeeping per row
    db.session.execute(
        insert.on_conflict_do_update(
            index_elements=["customer_id"],
            set_={
                "balance": insert.excluded.balance,
                "referral_code": insert.excluded.referral_code,
                "joined_at": insert.excluded.joined_at,
                "sent_at": insert.excluded.sent_at,
            },
        ),
        values,
    )


def send_pass(shop: Shop, client: KlaviyoClient, rows: list[Pending]) -> PassResult:
    """Profiles first (a flow reading the event finds the properties), then the events; each
    customer is recorded once Klaviyo accepted all that concerns them. Commits per job."""
    result = PassResult()
    sent = {r.customer_id: properties(shop, r) for r in rows}
    for chunk in chunks([(r, profile_entry(r, sent[r.customer_id])) for r in rows], PER_PASS):
        client.import_profiles([entry for _, entry in chunk])
        result.jobs += 1
        result.profiles += len(chunk)
        record_sent(shop, [r for r, _ in chunk], events=False)
        db.session.commit()
    joining = [(r, event_entry(shop, r, sent[r.customer_id])) for r in rows if r.needs_event]
    for chunk in chunks(joining, EVENTS_PER_JOB):
        client.create_events([entry for _, entry in chunk])
        result.jobs += 1
        result.events += len(chunk)
        record_sent(shop, [r for r, _ in chunk])
        db.session.commit()
    return result


def run_sync(shop: Shop, client: KlaviyoClient) -> PassResult:
    """Send the deletions owed, then every lagging customer, pass by pass in enrolment
    order (the job's unit of work).

    Keyset order: a customer changed during the run waits for the next run rather than
    being sent again and again in this one.
    """
    total = PassResult(deletions=send_deletions(shop, client))
    after: tuple[datetime, int] | None = None
    while rows := pending(shop, after):
        db.session.commit()  # no transaction stays open across the calls
        after = (rows[-1].joined_at, rows[-1].customer_id)
        done = send_pass(shop, client, rows)
        total.profiles += done.profiles
        total.events += done.events
        total.jobs += done.jobs
    return total


def connected_shop_ids(now: datetime) -> list[int]:
    """Installed shops with a working connection whose backoff, if any, has passed."""
    return list(
        db.session.scalars(
            select(KlaviyoConnection.shop_id)
            .join(Shop, Shop.id == KlaviyoConnection.shop_id)
            .where(
                KlaviyoConnection.status == "connected",
                or_(KlaviyoConnection.retry_at.is_(None), KlaviyoConnection.retry_at <= now),
                Shop.uninstalled_at.is_(None),
            )
            .order_by(KlaviyoConnection.shop_id)
        )
    )
