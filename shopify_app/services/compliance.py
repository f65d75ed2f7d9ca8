"""Mandatory privacy webhooks: really export, really erase.

Redaction keeps anonymous aggregates (referral counts, revenue totals, ledger amounts) and
removes every piece of personal data: names, emails, locale, attributes, and the raw
payloads that carried them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import delete, or_, select, update

from shopify_app.extensions import db
from shopify_app.models import (
    Customer,
    DataRequest,
    ImportJob,
    ImportRowError,
    Invitation,
    InvitationBatch,
    OAuthState,
    Order,
    PointsEntry,
    ProgramSettings,
    Referral,
    Refund,
    Reward,
    Segment,
    SegmentMember,
    Shop,
    WebhookEvent,
)
from shopify_app.services.customers import email_key

REDACTED = "redacted"


def find_customer(shop: Shop, shopify_id: int | None, email: str | None) -> Customer | None:
    conditions = []
    if shopify_id:
        conditions.append(Customer.shopify_id == shopify_id)
    key = email_key(email)
    if key:
        conditions.append(Customer.email_key == key)
    if not conditions:
        return None
    return db.session.execute(
        select(Customer).where(Customer.shop_id == shop.id, or_(*conditions)).limit(1)
    ).scalar_one_or_none()


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
    """Erase one customer's personal data everywhere, keeping anonymous aggregates."""
    info = payload.get("customer") or {}
    customer = find_customer(shop, info.get("id"), info.get("email"))
    order_ids = [int(i) for i in payload.get("orders_to_redact") or []]
    needles = {v for v in (info.get("email"), str(info.get("id") or "")) if v}
    if customer is not None:
        needles |= {v for v in (customer.email, customer.first_name, customer.last_name) if v}
        db.session.execute(
            update(Order)
            .where(Order.shop_id == shop.id, Order.customer_id == customer.id)
            .values(email=None, raw=None)
        )
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
        customer.unsubscribed = True
        customer.is_member = False
        from shopify_app.models.base import utcnow

        customer.redacted_at = utcnow()
    if order_ids:
        db.session.execute(
            update(Order)
            .where(Order.shop_id == shop.id, Order.shopify_id.in_(order_ids))
            .values(email=None, raw=None)
        )
    _scrub_text_traces(shop, needles)


def _scrub_text_traces(shop: Shop, needles: set[str]) -> None:
    """Blank stored payloads and rejected import rows that mention the customer."""
    for needle in needles:
        if len(needle) < 3:
            continue
        pattern = f"%{needle}%"
        db.session.execute(
            update(WebhookEvent)
            .where(WebhookEvent.shop_id == shop.id, WebhookEvent.payload.like(pattern))
            .values(payload=None)
        )
        import_ids = select(ImportJob.id).where(ImportJob.shop_id == shop.id)
        db.session.execute(
            update(ImportRowError)
            .where(
                ImportRowError.import_id.in_(import_ids),
                or_(
                    ImportRowError.value.like(pattern),
                    ImportRowError.raw.cast(db.String).like(pattern),
                ),
            )
            .values(value=None, raw=None, reason="redacted")
        )


def redact_shop(shop: Shop) -> None:
    """Erase every row of the shop (child tables first, so SQLite needs no cascades)."""
    import_ids = select(ImportJob.id).where(ImportJob.shop_id == shop.id)
    for path in db.session.execute(
        select(ImportJob.file_path).where(ImportJob.shop_id == shop.id)
    ).scalars():
        Path(path).unlink(missing_ok=True)
    db.session.execute(delete(ImportRowError).where(ImportRowError.import_id.in_(import_ids)))
    for model in (
        PointsEntry,
        Invitation,
        InvitationBatch,
        Reward,
        Referral,
        Refund,
        Order,
        SegmentMember,
        ProgramSettings,
        DataRequest,
        WebhookEvent,
    ):
        db.session.execute(delete(model).where(model.shop_id == shop.id))
    db.session.execute(delete(ImportJob).where(ImportJob.shop_id == shop.id))
    db.session.execute(delete(Customer).where(Customer.shop_id == shop.id))
    db.session.execute(delete(Segment).where(Segment.shop_id == shop.id))
    db.session.execute(delete(OAuthState).where(OAuthState.shop_domain == shop.domain))
    db.session.execute(delete(Shop).where(Shop.id == shop.id))
