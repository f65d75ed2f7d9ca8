"""Every model, importable from one place (Alembic autogenerate needs them all loaded)."""

from shopify_app.platform.models.base import Base
from shopify_app.platform.models.compliance import DataRequest
from shopify_app.platform.models.customer import Customer, is_member_state
from shopify_app.platform.models.export import ExportJob
from shopify_app.platform.models.imports import ImportBalanceMove, ImportJob, ImportRowError
from shopify_app.platform.models.invitation import Invitation, InvitationBatch
from shopify_app.platform.models.klaviyo import (
    KlaviyoConnection,
    KlaviyoDeletion,
    KlaviyoProfile,
)
from shopify_app.platform.models.loyalty import LoyaltyReward, PointBalance, Redemption
from shopify_app.platform.models.mailchimp import MailchimpConnection, MailchimpFetch
from shopify_app.platform.models.order import Order, Refund
from shopify_app.platform.models.people import (
    AttributeChange,
    AttributeDefinition,
    CustomerEvent,
)
from shopify_app.platform.models.points import PointsEntry
from shopify_app.platform.models.referral import ProgramSettings, Referral, Reward
from shopify_app.platform.models.segment import Segment, SegmentEnrolment, SegmentMember
from shopify_app.platform.models.setup_guide import SetupGuide
from shopify_app.platform.models.shop import OAuthState, Shop
from shopify_app.platform.models.webhook_event import WebhookEvent

__all__ = [
    "AttributeChange",
    "AttributeDefinition",
    "Base",
    "Customer",
    "CustomerEvent",
    "DataRequest",
    "ExportJob",
    "ImportBalanceMove",
    "ImportJob",
    "ImportRowError",
    "Invitation",
    "InvitationBatch",
    "KlaviyoConnection",
    "KlaviyoDeletion",
    "KlaviyoProfile",
    "LoyaltyReward",
    "MailchimpConnection",
    "MailchimpFetch",
    "OAuthState",
    "Order",
    "PointBalance",
    "PointsEntry",
    "ProgramSettings",
    "Redemption",
    "Referral",
    "Refund",
    "Reward",
    "Segment",
    "SegmentEnrolment",
    "SegmentMember",
    "SetupGuide",
    "Shop",
    "WebhookEvent",
    "is_member_state",
]
