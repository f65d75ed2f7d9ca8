"""shop/redact: erase every row and every file of a shop, 48 hours after it uninstalled.

Deletions still owed to Klaviyo go too: the shop's Klaviyo key went at uninstall, so they
can no longer be sent, and the emails they keep must not outlive the shop's data. Klaviyo
profiles themselves are the merchant's, in the merchant's account, and are left there.
"""

from __future__ import annotations

import logging

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
    ImportBalanceMove,
    ImportJob,
    ImportRowError,
    Invitation,
    InvitationBatch,
    KlaviyoDeletion,
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

log = logging.getLogger(__name__)


def redact_shop(shop: Shop) -> None:
    """Erase every row and every file of the shop (child tables first, so SQLite needs no
    cascades)."""
    lock_shop(shop)
    stored_files.delete_shop_files(shop)
    forget_klaviyo(shop)  # the private key and what was sent
    owed = db.session.execute(delete(KlaviyoDeletion).where(KlaviyoDeletion.shop_id == shop.id))
    if owed.rowcount:
        log.warning(
            "shop/redact of %s: %s Klaviyo deletions were never sent", shop.id, owed.rowcount
        )
    import_ids = select(ImportJob.id).where(ImportJob.shop_id == shop.id)
    for child in (ImportRowError, ImportBalanceMove):
        db.session.execute(delete(child).where(child.import_id.in_(import_ids)))
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
