"""What the home page's setup guide cannot read from other rows: steps the merchant took."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from shopify_app.platform.models.base import Base, ShopOwned


class SetupGuide(ShopOwned, Base):
    """One row per shop, created when the merchant first takes a step it records.

    The other steps (program saved, customers synced, first import) are read from their own
    rows, so the guide never disagrees with the pages it points to.
    """

    __tablename__ = "setup_guides"

    shop_id: Mapped[int] = mapped_column(
        ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True
    )
    #: the last test invitation that the mail server accepted, and where it went.
    test_email_sent_at: Mapped[datetime | None]
    test_email_to: Mapped[str | None] = mapped_column(String(320))
    #: test emails tried since `test_emails_since` (an hour's window; see TEST_EMAILS_PER_HOUR).
    test_emails_tried: Mapped[int] = mapped_column(default=0, server_default="0")
    test_emails_since: Mapped[datetime | None]
    #: the merchant opened the storefront page through the guide's button.
    storefront_checked_at: Mapped[datetime | None]
    #: the merchant hid the guide; "Show setup guide" clears it.
    dismissed_at: Mapped[datetime | None]
