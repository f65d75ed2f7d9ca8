"""Mandatory privacy webhooks: really export, really erase.

Redaction keeps anonymous aggregates (referral counts, revenue totals, ledger amounts) and
removes every piece of personal data: names, emails, locale, attributes, the referral code
made from the first name, the raw payloads that carried them, what imports stored of their
rows, and their records in the files the app keeps (uploads, exports: privacy.files).
Where other data only mentions the person (another customer's ledger description, an error
message), the mention is masked and the rest kept.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import JSON, ColumnElement, Text, cast, delete, func, or_, select, update
from sqlalchemy.orm import InstrumentedAttribute

from shopify_app.integrations.klaviyo.erasure import forget_customer as forget_klaviyo_customer
from shopify_app.platform.customer_store import email_key
from shopify_app.platform.db import like_escaped
from shopify_app.platform.extensions import db
from shopify_app.platform.models import (
    AttributeChange,
    Customer,
    CustomerEvent,
    DataRequest,
    ExportJob,
    ImportJob,
    ImportRowError,
    Invitation,
    InvitationBatch,
    Order,
    PointsEntry,
    Referral,
    Reward,
    Shop,
    WebhookEvent,
)
from shopify_app.platform.models.base import utcnow
from shopify_app.platform.models.export import DONE as EXPORT_DONE
from shopify_app.platform.models.export import FAILED as EXPORT_FAILED
from shopify_app.platform.models.invitation import BATCH_PREPARING as PREPARING
from shopify_app.platform.shops import lock_shop
from shopify_app.privacy import files as stored_files
from shopify_app.privacy.erasure import Person

REDACTED = "redacted"
#: what a rejected import row of the person says once erased.
ERASED_REASON = "Erased at the customer's request"


def find_customer(
    shop: Shop, shopify_id: int | None, email: str | None, *, lock: bool = False
) -> Customer | None:
    """The shop's customer with this Shopify id or email; `lock` waits for (and then sees)
    any transaction changing them, such as an import batch."""
    conditions = []
    if shopify_id:
        conditions.append(Customer.shopify_id == shopify_id)
    key = email_key(email)
    if key:
        conditions.append(Customer.email_key == key)
    if not conditions:
        return None
    query = select(Customer).where(Customer.shop_id == shop.id, or_(*conditions)).limit(1)
    if lock:
        query = query.with_for_update()
    return db.session.execute(query).scalar_one_or_none()


def customer_data(shop: Shop, customer: Customer) -> dict[str, Any]:
    """Everything the app holds on one customer, as plain JSON."""
    referrals = db.session.execute(
        select(Referral).where(
            Referral.shop_id == shop.id,
            or_(Referral.referrer_id == customer.id, Referral.referee_id == customer.id),
        )
    ).scalars()
    return {
        "customer": {
            "shopify_id": customer.shopify_id,
            "email": customer.email,
            "first_name": customer.first_name,
            "last_name": customer.last_name,
            "locale": customer.locale,
            "state": customer.state,
            "points_balance": customer.points_balance,
            "joined_at": customer.joined_at.isoformat() if customer.joined_at else None,
            "referral_code": customer.referral_code,
            "attributes": customer.attributes or {},
        },
        "points": [
            {
                "delta": e.delta,
                "description": e.description,
                "source": e.source,
                "created_at": e.created_at.isoformat(),
            }
            for e in db.session.execute(
                select(PointsEntry)
                .where(PointsEntry.shop_id == shop.id, PointsEntry.customer_id == customer.id)
                .order_by(PointsEntry.id)
            ).scalars()
        ],
        "referrals": [
            {
                "role": "referrer" if r.referrer_id == customer.id else "referee",
                "status": r.status,
                "order_total_minor": r.order_total_minor,
                "created_at": r.created_at.isoformat(),
            }
            for r in referrals
        ],
        "rewards": [
            {"code": w.code, "status": w.status, "value": w.value, "value_type": w.value_type}
            for w in db.session.execute(
                select(Reward).where(Reward.shop_id == shop.id, Reward.customer_id == customer.id)
            ).scalars()
        ],
        "orders": [
            {
                "shopify_id": o.shopify_id,
                "total_minor": o.total_minor,
                "currency": o.currency,
                "discount_codes": o.discount_codes,
            }
            for o in db.session.execute(
                select(Order).where(Order.shop_id == shop.id, Order.customer_id == customer.id)
            ).scalars()
        ],
        "invitations": [
            {"status": i.status, "sent_at": i.sent_at.isoformat() if i.sent_at else None}
            for i in db.session.execute(
                select(Invitation).where(
                    Invitation.shop_id == shop.id, Invitation.customer_id == customer.id
                )
            ).scalars()
        ],
    }


def record_data_request(shop: Shop, payload: dict[str, Any]) -> DataRequest:
    info = payload.get("customer") or {}
    customer = find_customer(shop, info.get("id"), info.get("email"))
    data = customer_data(shop, customer) if customer else {"customer": None}
    request = DataRequest(
        shop_id=shop.id,
        shopify_request_id=str((payload.get("data_request") or {}).get("id") or ""),
        shopify_customer_id=info.get("id"),
        data=data,
    )
    db.session.add(request)
    return request


def redact_customer(shop: Shop, payload: dict[str, Any]) -> None:
    """Erase one customer's personal data from every table and file, keeping aggregates.

    The order guards against work running meanwhile: the shop row is locked first (an export
    finishing waits, then leaves the customer out), then the customer's row (an import batch
    that changed them commits first, and what it wrote is erased below), then each import
    row before its file is rewritten (a running import then restarts on the new file).
    """
    lock_shop(shop)
    info = payload.get("customer") or {}
    customer = find_customer(shop, info.get("id"), info.get("email"), lock=True)
    person = _person(info, customer)
    if customer is not None:
        forget_klaviyo_customer(shop, customer)  # first: the email names the Klaviyo profile
        _erase_customer(shop, customer)
    _erase_orders(shop, person, [int(i) for i in payload.get("orders_to_redact") or []])
    stored_files.erase_person_from_uploads(shop, person)
    if customer is not None:
        stored_files.erase_customers_from_exports(shop, [customer.id])
    _erase_from_imports(shop, person)
    _erase_mentions(shop, person)


def _person(info: dict[str, Any], customer: Customer | None) -> Person:
    """The person from the payload and from our row (unless an earlier redaction blanked it)."""
    known = customer is not None and customer.redacted_at is None
    return Person.of(
        emails=[info.get("email"), customer.email if customer else None],
        shopify_ids=[info.get("id"), customer.shopify_id if customer else None],
        names=[(customer.first_name, customer.last_name)] if known else [],
    )


def _erase_customer(shop: Shop, customer: Customer) -> None:
    """Blank the customer's row and what hangs off it; amounts and counts stay."""
    db.session.execute(
        update(Referral)
        .where(Referral.shop_id == shop.id, Referral.referee_id == customer.id)
        .values(referee_email=None)
    )
    db.session.execute(
        update(Invitation)
        .where(Invitation.shop_id == shop.id, Invitation.customer_id == customer.id)
        .values(email=None, error=None)
    )
    # Descriptions were written about the customer (an import's, a manual note's).
    db.session.execute(
        update(PointsEntry)
        .where(PointsEntry.shop_id == shop.id, PointsEntry.customer_id == customer.id)
        .values(description=REDACTED)
    )
    # An event's properties, and a people import's undo log, are what a file said of them.
    for model in (CustomerEvent, AttributeChange):
        db.session.execute(
            delete(model).where(model.shop_id == shop.id, model.customer_id == customer.id)
        )
    if customer.shopify_id is not None:
        db.session.execute(
            delete(DataRequest).where(
                DataRequest.shop_id == shop.id,
                DataRequest.shopify_customer_id == customer.shopify_id,
            )
        )
    customer.email = customer.email_key = customer.email_canonical = None
    customer.first_name = customer.last_name = REDACTED
    customer.locale = None
    customer.tags = ""
    customer.attributes = None
    # The code is made from the first name; the referral link stops working with it.
    customer.referral_code = None
    customer.unsubscribed = True
    customer.is_member = False
    customer.redacted_at = customer.redacted_at or utcnow()


def _erase_orders(shop: Shop, person: Person, order_ids: list[int]) -> None:
    """Orders Shopify names, and any order placed under the person's id or email."""
    ids = [int(i) for i in person.shopify_ids]
    conditions: list[ColumnElement[bool]] = []
    if order_ids:
        conditions.append(Order.shopify_id.in_(order_ids))
    if ids:
        conditions.append(Order.shopify_customer_id.in_(ids))
    if person.emails:
        conditions.append(func.lower(func.trim(Order.email)).in_(sorted(person.emails)))
    if conditions:
        db.session.execute(
            update(Order)
            .where(Order.shop_id == shop.id, or_(*conditions))
            .values(email=None, raw=None)
        )
    if person.emails:
        db.session.execute(
            update(Referral)
            .where(
                Referral.shop_id == shop.id,
                func.lower(func.trim(Referral.referee_email)).in_(sorted(person.emails)),
            )
            .values(referee_email=None)
        )


def _erase_from_imports(shop: Shop, person: Person) -> None:
    """What imports kept of the person's rows: the preview sample and rejected rows."""
    for job in db.session.scalars(select(ImportJob).where(ImportJob.shop_id == shop.id)):
        summary = dict(job.summary or {})
        preview = dict(summary.get("preview") or {})
        if preview.get("sample"):
            preview["sample"] = [
                item for item in preview["sample"] if not person.owns(item.get("values"))
            ]
            summary["preview"] = preview
        summary = person.mask(summary)
        if summary != (job.summary or {}):
            job.summary = summary
        if job.error_message and person.mentioned_in(job.error_message):
            job.error_message = person.mask(job.error_message)
    rejected = select(ImportRowError).where(
        ImportRowError.import_id.in_(select(ImportJob.id).where(ImportJob.shop_id == shop.id)),
        or_(_contains(ImportRowError.value, person), _contains(ImportRowError.raw, person)),
    )
    for row in db.session.scalars(rejected):
        if person.owns(row.raw) or person.is_cell(row.value):
            row.value, row.raw, row.reason = None, None, ERASED_REASON
        else:
            row.value, row.raw = person.mask(row.value), person.mask(row.raw)
            row.reason = person.mask(row.reason)


def _erase_mentions(shop: Shop, person: Person) -> None:
    """Mask the person wherever other rows mention them; drop the payloads that carried them."""
    events = select(WebhookEvent).where(
        or_(
            WebhookEvent.shop_id == shop.id,
            (WebhookEvent.shop_id.is_(None)) & (WebhookEvent.shop_domain == shop.domain),
        ),
        or_(_contains(WebhookEvent.payload, person), _contains(WebhookEvent.error, person)),
    )
    for event in db.session.scalars(events):
        if event.payload is not None and _payload_mentions(event.payload, person):
            # Processed, the payload is only a record; waiting, it would bring the data back.
            event.payload = None
        event.error = person.mask(event.error)
    _mask_column(PointsEntry.description, PointsEntry.shop_id == shop.id, person)
    _mask_column(Reward.shopify_error, Reward.shop_id == shop.id, person)
    _mask_column(Invitation.error, Invitation.shop_id == shop.id, person)
    _mask_column(InvitationBatch.error, InvitationBatch.shop_id == shop.id, person)
    _mask_column(InvitationBatch.summary, InvitationBatch.shop_id == shop.id, person)
    _mask_column(Customer.attributes, Customer.shop_id == shop.id, person)
    _mask_column(AttributeChange.changes, AttributeChange.shop_id == shop.id, person)
    _mask_column(ExportJob.error_message, ExportJob.shop_id == shop.id, person)
    for request in db.session.scalars(
        select(DataRequest).where(
            DataRequest.shop_id == shop.id, _contains(DataRequest.data, person)
        )
    ):
        if person.owns((request.data or {}).get("customer")):
            db.session.delete(request)
        else:
            request.data = person.mask(request.data)
    _forget_searches(shop, person)


def _forget_searches(shop: Shop, person: Person) -> None:
    """A search the merchant typed for the person, kept with a finished export or batch.

    Work still running keeps its filters: changing them would change what it selects.
    """
    for job in db.session.scalars(
        select(ExportJob).where(
            ExportJob.shop_id == shop.id, ExportJob.status.in_([EXPORT_DONE, EXPORT_FAILED])
        )
    ):
        if person.searched_for((job.params or {}).get("q")):
            job.params = {k: v for k, v in job.params.items() if k != "q"}
    for batch in db.session.scalars(
        select(InvitationBatch).where(
            InvitationBatch.shop_id == shop.id, InvitationBatch.status != PREPARING
        )
    ):
        selection = dict(batch.selection or {})
        matching = dict(selection.get("matching") or {})
        if person.searched_for(matching.get("q")):
            matching.pop("q")
            batch.selection = {**selection, "matching": matching}


def _payload_mentions(payload: str, person: Person) -> bool:
    try:
        parsed: object = json.loads(payload)
    except ValueError:
        parsed = payload
    return person.owns(parsed) or person.mentioned_in(parsed)


def _contains(column: InstrumentedAttribute[Any], person: Person) -> ColumnElement[bool]:
    """A cheap first filter in SQL: the column's text contains one of the person's needles
    (any case); the exact checks run in Python on the few rows it lets through."""
    text = cast(column, Text) if isinstance(column.type, JSON) else column
    needles = person.needles()
    if not needles:
        return column.is_(None) & column.is_not(None)
    return or_(*(text.ilike(f"%{like_escaped(n)}%", escape="\\") for n in needles))


def _mask_column(
    column: InstrumentedAttribute[Any], scope: ColumnElement[bool], person: Person
) -> None:
    """Mask mentions of the person in one column of the shop's rows."""
    model = column.class_
    for row in db.session.scalars(select(model).where(scope, _contains(column, person))):
        value = getattr(row, column.key)
        masked = person.mask(value)
        if masked != value:
            setattr(row, column.key, masked)
