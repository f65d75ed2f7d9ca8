"""The unsubscribe link every email to a customer carries (invitations, points reminders).

`https://SHOP/apps/referrals/unsubscribe/TOKEN` reaches the invitations' unsubscribe page
through the app proxy; the token names the customer and cannot be forged. Here in the
platform so each capability that emails customers builds the same link.
"""

from __future__ import annotations

from flask import current_app
from itsdangerous import URLSafeSerializer

from shopify_app.platform.models import Customer, Shop


def unsubscribe_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="invitation-unsubscribe")


def unsubscribe_token(customer: Customer) -> str:
    """The token in an email's unsubscribe link: names the customer, cannot be forged."""
    return unsubscribe_serializer().dumps([customer.shop_id, customer.id])


def unsubscribe_url(shop: Shop, customer: Customer) -> str:
    return f"https://{shop.domain}/apps/referrals/unsubscribe/{unsubscribe_token(customer)}"
