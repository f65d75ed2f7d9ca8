"""Points expiry and its reminder: once per period, resumable, per shop, off by default."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update

from shopify_app.loyalty.daily_run import queue_shops, run_shop
from shopify_app.loyalty.expiry import add_months, run_expiry
from shopify_app.loyalty.ledger import add_points
from shopify_app.platform.extensions import db, queue
from shopify_app.platform.models import PointBalance, PointsEntry
from shopify_app.platform.models.base import utcnow
from shopify_app.program.config import get_settings
from tests.factories import make_contact, make_customer
from tests.helpers import make_shop
from tests.loyalty.conftest import shopify_customer


def expiry_on(shop, months: int = 12, reminder_days: int = 14) -> None:
    settings = get_settings(shop)
    settings.expiry, settings.expiry_months, settings.expiry_reminder_days = (
        True,
        months,
        reminder_days,
    )
    db.session.commit()


def with_points(shop, customer, points: int, *, last_activity) -> None:
    """The customer earned `points`, last at `last_activity`."""
    add_points(shop, customer, points, source="manual", description="Welcome")
    db.session.execute(
        update(PointBalance)
        .where(PointBalance.customer_id == customer.id)
        .values(last_activity_at=last_activity)
    )
    db.session.commit()


def expiry_rows(customer=None) -> list[PointsEntry]:
    query = select(PointsEntry).where(PointsEntry.source == "expiry").order_by(PointsEntry.id)
    if customer is not None:
        query = query.where(PointsEntry.customer_id == customer.id)
    return list(db.session.scalars(query))


def balance(customer) -> int:
    return db.session.scalar(
        select(PointBalance.balance).where(PointBalance.customer_id == customer.id)
    )


def lapsed(months: int = 12, days: int = 1):
    return add_months(utcnow(), -months) - timedelta(days=days)


def test_a_lapsed_balance_expires_once_across_two_runs(shop):
    expiry_on(shop)
    old, active = make_contact(shop, "old@example.com"), make_contact(shop, "new@example.com")
    with_points(shop, old, 100, last_activity=lapsed())
    with_points(shop, active, 50, last_activity=utcnow() - timedelta(days=30))
    assert run_shop(shop.id).startswith("1 balances expired")
    assert run_shop(shop.id).startswith("0 balances expired")
    [entry] = expiry_rows()
    assert (entry.customer_id, entry.delta, entry.balance_after) == (old.id, -100, 0)
    assert entry.description == "Points expired" and entry.source_key.startswith(
        f"expiry:{old.id}:"
    )
    assert (balance(old), balance(active)) == (0, 50)
    state = db.session.get(PointBalance, old.id)
    db.session.refresh(state)
    assert state.metafield_dirty and state.last_activity_at is not None


def test_a_run_killed_halfway_resumes_and_doubles_nothing(shop):
    expiry_on(shop)
    customers = [make_contact(shop, f"c{n}@example.com") for n in range(7)]
    for n, customer in enumerate(customers):
        with_points(shop, customer, 10 + n, last_activity=lapsed(days=n + 1))
    settings = get_settings(shop)
    cut = run_expiry(shop, settings, batch_size=2, max_batches=2)
    assert (cut.expired, cut.finished) == (4, False)
    run_shop(shop.id)
    run_shop(shop.id)
    assert sorted(e.customer_id for e in expiry_rows()) == sorted(c.id for c in customers)
    assert sum(e.delta for e in expiry_rows()) == -sum(10 + n for n in range(7))
    assert all(balance(c) == 0 for c in customers)


def test_balances_older_than_the_point_state_count_from_their_latest_ledger_row(shop):
    expiry_on(shop)
    legacy = make_customer(shop, shopify_id=None, points_balance=30)
    db.session.add(
        PointsEntry(
            shop_id=shop.id,
            customer_id=legacy.id,
            delta=30,
            balance_after=30,
            source="import",
            created_at=lapsed(days=3),
        )
    )
    recent = make_customer(shop, shopify_id=None, points_balance=20)  # no ledger row, new
    db.session.commit()
    run_shop(shop.id)
    assert [e.customer_id for e in expiry_rows()] == [legacy.id]
    assert (balance(legacy), balance(recent)) == (0, 20)
    assert db.session.get(PointBalance, recent.id).last_activity_at is not None


def test_expiry_off_changes_nothing(shop):
    customer = make_contact(shop, "old@example.com")
    with_points(shop, customer, 100, last_activity=lapsed(months=30))
    assert run_shop(shop.id) == "skipped: expiry is off"
    assert queue_shops("2027-01-01") == 0
    assert expiry_rows() == [] and balance(customer) == 100


def test_one_shops_run_never_touches_another_shop(shop, shopify_double):
    other = make_shop(shopify_double, "other-shop.myshopify.com")
    expiry_on(shop)
    mine, theirs = make_contact(shop, "a@example.com"), make_contact(other, "b@example.com")
    with_points(shop, mine, 10, last_activity=lapsed())
    with_points(other, theirs, 10, last_activity=lapsed())
    assert queue_shops("2027-01-01") == 1
    expiry_jobs = [j for j in queue().job_ids if j.startswith("loyalty-expiry-")]
    assert expiry_jobs == [f"loyalty-expiry-{shop.id}-2027-01-01"]
    run_shop(shop.id)
    run_shop(other.id)
    assert [e.customer_id for e in expiry_rows()] == [mine.id]
    assert balance(theirs) == 10


def test_the_reminder_goes_once_in_the_customers_language_and_never_to_the_unsubscribed(
    shop, shopify_double, inbox
):
    expiry_on(shop, reminder_days=14)
    soon = add_months(utcnow(), -12) + timedelta(days=10)
    ana = shopify_customer(shopify_double, shop, "ana@example.com", first_name="Ana")
    zoe = shopify_customer(
        shopify_double, shop, "zoe@example.com", first_name="Zoé", locale="fr-CA"
    )
    gone = shopify_customer(shopify_double, shop, "gone@example.com", unsubscribed=True)
    later = shopify_customer(shopify_double, shop, "later@example.com")
    for customer, points in ((ana, 1200), (zoe, 80), (gone, 5)):
        with_points(shop, customer, points, last_activity=soon)
    with_points(shop, later, 5, last_activity=utcnow() - timedelta(days=60))
    run_shop(shop.id)
    run_shop(shop.id)
    assert len(inbox.messages) == 2
    [english] = inbox.to("ana@example.com")
    [french] = inbox.to("zoe@example.com")
    expires = add_months(soon, 12)
    assert english["Subject"] == (
        f"Your 1,200 points at {shop.name} expire on {expires:%B} {expires.day}, {expires.year}"
    )
    assert french["Subject"].startswith(
        f"Vos 80 points chez {shop.name} expirent le {expires.day} "
    )
    assert french["Content-Language"] == "fr"
    text = french.get_body(preferencelist=("plain",)).get_content()
    assert "Bonjour Zoé" in text and "/apps/referrals/unsubscribe/" in text
    assert (
        english["List-Unsubscribe"]
        .strip()
        .startswith(f"<https://{shop.domain}/apps/referrals/unsubscribe/")
    )
    assert inbox.to("gone@example.com") == [] and inbox.to("later@example.com") == []
    assert expiry_rows() == []


def test_earning_after_the_reminder_starts_a_new_period_with_its_own_reminder(
    shop, shopify_double, inbox
):
    expiry_on(shop, reminder_days=14)
    ana = shopify_customer(shopify_double, shop, "ana@example.com")
    with_points(shop, ana, 40, last_activity=add_months(utcnow(), -12) + timedelta(days=5))
    run_shop(shop.id)
    assert len(inbox.to("ana@example.com")) == 1
    add_points(shop, ana, 10, source="order", source_key="order:1:earn")
    db.session.commit()
    state = db.session.get(PointBalance, ana.id)
    db.session.refresh(state)
    assert state.reminded_at is None and state.last_activity_at > utcnow() - timedelta(minutes=1)
    run_shop(shop.id)
    assert len(inbox.to("ana@example.com")) == 1  # the new period is far from its end
    db.session.execute(
        update(PointBalance)
        .where(PointBalance.customer_id == ana.id)
        .values(last_activity_at=add_months(utcnow(), -12) + timedelta(days=3))
    )
    db.session.commit()
    run_shop(shop.id)
    assert len(inbox.to("ana@example.com")) == 2
    assert db.session.scalar(select(func.count()).select_from(PointsEntry)) == 2
