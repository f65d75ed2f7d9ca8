"""customers/redact reaches Klaviyo: a profile the app sent there is owed a deletion.

The redaction blanks the customer's row, so the email naming the profile is kept, alone, in
`KlaviyoDeletion` until Klaviyo accepted the deletion job; the sync sends it (now, or after
an outage or a long Retry-After, on the sweep). A customer never sent causes no call.
"""

from __future__ import annotations

from sqlalchemy import delete, exists, select

from shopify_app.integrations.klaviyo.runs import request_sync
from shopify_app.integrations.klaviyo.sync import queue_deletions
from shopify_app.platform.extensions import db
from shopify_app.platform.models import Customer, KlaviyoProfile, Shop


def forget_customer(shop: Shop, customer: Customer) -> None:
    """Drop what was recorded as sent and, if a profile was sent, owe its deletion.

    Call it before the customer's row is blanked: its email names the profile.
    """
    sent = KlaviyoProfile.shop_id == shop.id, KlaviyoProfile.customer_id == customer.id
    was_sent = db.session.scalar(select(exists().where(*sent)))
    db.session.execute(delete(KlaviyoProfile).where(*sent))
    if was_sent and customer.email:
        queue_deletions(shop, [customer.email.strip()])
        request_sync(shop)
