"""The home page's setup guide: five steps, each read from the rows its page writes.

A step is done when its thing happened (the Program form saved, a test invitation accepted by
the mail server, the customer sync finished, an import applied, the storefront page opened),
so the guide never ticks a step the merchant did not take, and ticks one taken elsewhere (an
import from the CLI, invitations already sent). Only what no other row records is kept in
`SetupGuide`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import exists, select

from shopify_app.platform.extensions import db
from shopify_app.platform.models import ImportJob, Invitation, ProgramSettings, SetupGuide, Shop
from shopify_app.platform.models.base import utcnow
from shopify_app.platform.models.imports import DONE, REVERTED
from shopify_app.platform.models.invitation import SENT
from shopify_app.platform.shops import row_of_shop

TEST_EMAIL_WINDOW = timedelta(hours=1)
PROGRAM, TEST_EMAIL, SYNC, IMPORT, STOREFRONT = (
    "program",
    "test_email",
    "sync",
    "import",
    "storefront",
)


@dataclass(frozen=True)
class Step:
    key: str
    title: str
    text: str
    done: bool


@dataclass(frozen=True)
class Checklist:
    steps: list[Step]
    dismissed: bool
    test_email_to: str | None

    @property
    def done_count(self) -> int:
        return sum(step.done for step in self.steps)

    @property
    def complete(self) -> bool:
        return self.done_count == len(self.steps)

    @property
    def percent(self) -> int:
        return round(100 * self.done_count / len(self.steps))

    @property
    def summary(self) -> str:
        return f"{self.done_count} of {len(self.steps)} tasks complete"

    @property
    def next_step(self) -> Step | None:
        return next((step for step in self.steps if not step.done), None)


def checklist(shop: Shop) -> Checklist:
    """The guide's steps in the order a merchant takes them, each done or not."""
    guide = db.session.get(SetupGuide, shop.id)
    saved_at = db.session.scalar(
        select(ProgramSettings.saved_at).where(ProgramSettings.shop_id == shop.id)
    )
    imported = db.session.scalar(
        select(exists().where(ImportJob.shop_id == shop.id, ImportJob.status.in_([DONE, REVERTED])))
    )
    invited = db.session.scalar(
        select(exists().where(Invitation.shop_id == shop.id, Invitation.status == SENT))
    )
    tested = guide is not None and guide.test_email_sent_at is not None
    steps = [
        Step(
            PROGRAM,
            "Set up your referral program",
            "Choose the discount friends get and the reward your customers earn for each "
            "friend who orders.",
            saved_at is not None,
        ),
        Step(
            TEST_EMAIL,
            "Preview the invitation and send yourself a test",
            "See the email your customers get, in your store's language, and send one to "
            "your own inbox.",
            tested or bool(invited),
        ),
        Step(
            SYNC,
            "Bring in your customers",
            "The app copies your Shopify customers so you can invite them. It runs by itself "
            "after install.",
            shop.synced_at is not None,
        ),
        Step(
            IMPORT,
            "Import points or contacts",
            "Upload a CSV to give points, or to add contacts from another app or a spreadsheet.",
            bool(imported),
        ),
        Step(
            STOREFRONT,
            "Check your storefront page",
            "Open the page your customers see in your store: their points, rewards and "
            "referral link.",
            guide is not None and guide.storefront_checked_at is not None,
        ),
    ]
    return Checklist(
        steps=steps,
        dismissed=guide is not None and guide.dismissed_at is not None,
        test_email_to=guide.test_email_to if guide is not None else None,
    )


def record_test_email(shop: Shop, address: str, when: datetime | None = None) -> None:
    guide = row_of_shop(SetupGuide, shop)
    guide.test_email_sent_at, guide.test_email_to = when or utcnow(), address


def count_test_email(shop: Shop, per_hour: int, now: datetime | None = None) -> datetime | None:
    """Count one more test email in the shop's hour; past the limit, when the next may go.

    The row is locked, so two tabs sending at once count twice, never once.
    """
    now = now or utcnow()
    row_of_shop(SetupGuide, shop)
    guide = db.session.execute(
        select(SetupGuide).where(SetupGuide.shop_id == shop.id).with_for_update()
    ).scalar_one()
    since = guide.test_emails_since
    if since is None or now - since >= TEST_EMAIL_WINDOW:
        guide.test_emails_since, guide.test_emails_tried = now, 0
    elif guide.test_emails_tried >= per_hour:
        return since + TEST_EMAIL_WINDOW
    guide.test_emails_tried += 1
    return None


def record_storefront_check(shop: Shop) -> None:
    guide = row_of_shop(SetupGuide, shop)
    guide.storefront_checked_at = guide.storefront_checked_at or utcnow()


def set_dismissed(shop: Shop, dismissed: bool) -> None:
    row_of_shop(SetupGuide, shop).dismissed_at = utcnow() if dismissed else None
