"""shop/redact: erase every row and every file of a shop, 48 hours after it uninstalled."""

from __future__ import annotations

from sqlalchemy import delete, or_, select

from shopify_app.integrations.klaviyo.connection import disconnect as forget_klaviyo
from shopify_app.platform.extensions import db
from shopify_app.platform.models import (
    AttributeChange,
    AttributeDefinition,
    Customer,
    CustomerEvent,
    DataRequest,
    ExportJob,
    ImportJob,
    ImportRowError,
    Invitation,
    InvitationBatch,
    LoyaltyReward,
    MailchimpConnection,
    MailchimpFetch,
    OAuthState,
    Order,
    PointBalance,
    PointsEntry,
    ProgramSettings,
    Redemption,
    Referral,
    Refund,
    Reward,
    Segment,
    SegmentEnrolment,
    SegmentMember,
    SetupGuide,
    Shop,
    WebhookEvent,
)
from shopify_app.platform.shops import lock_shop
from shopify_app.privacy import files as stored_files


def redact_shop(shop: Shop) -> None:
    """Erase every row and every file of the shop (child tables first, so SQLite needs no
    cascades)."""
    lock_shop(shop)
    stored_files.delete_shop_files(shop)
    forget_klaviyo(shop)  # the private key and what was sent
    import_ids = select(ImportJob.id).where(ImportJob.shop_id == shop.id)
    db.session.execute(delete(ImportRowError).where(ImportRowError.import_id.in_(import_ids)))
    for model in (
        CustomerEvent,
        AttributeChange,
        AttributeDefinition,
        Redemption,
        LoyaltyReward,
        PointBalance,
        PointsEntry,
        Invitation,
        InvitationBatch,
        Reward,
        Referral,
        Refund,
        Order,
        SegmentEnrolment,
        SegmentMember,
        ProgramSettings,
        SetupGuide,
        DataRequest,
        ExportJob,
        MailchimpFetch,
        MailchimpConnection,
    ):
        db.session.execute(delete(model).where(model.shop_id == shop.id))
    db.session.execute(
        delete(WebhookEvent).where(
            or_(WebhookEvent.shop_id == shop.id, WebhookEvent.shop_domain == shop.domain)
        )
    )
    db.session.execute(delete(ImportJob).where(ImportJob.shop_id == shop.id))
    db.session.execute(delete(Customer).where(Customer.shop_id == shop.id))
    db.session.execute(delete(Segment).where(Segment.shop_id == shop.id))
    db.session.execute(delete(OAuthState).where(OAuthState.shop_domain == shop.domain))
    db.session.execute(delete(Shop).where(Shop.id == shop.id))
