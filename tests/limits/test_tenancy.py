"""Shops are tenants: in a shop's scope a query that forgets its shop sees only that shop."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, func, inspect, select, update

from shopify_app.platform.auth.guards import load_shop_session
from shopify_app.platform.extensions import db
from shopify_app.platform.models import Base, Customer, Segment, SegmentMember, Shop
from shopify_app.platform.models.base import ShopOwned
from shopify_app.platform.queue import job_app_context
from shopify_app.platform.tenancy import scoped_shop, shop_scope
from tests.factories import make_contact
from tests.helpers import make_shop


@pytest.fixture
def two_shops(shop, shopify_double):
    other = make_shop(shopify_double, "tenant-b.myshopify.com")
    for owner, prefix in ((shop, "a"), (other, "b")):
        segment = Segment(shop_id=owner.id, name="VIP")
        db.session.add(segment)
        db.session.flush()
        for n in range(3):
            customer = make_contact(owner, f"{prefix}{n}@example.com")
            db.session.add(
                SegmentMember(segment_id=segment.id, customer_id=customer.id, shop_id=owner.id)
            )
    db.session.commit()
    return shop, other


def test_every_model_with_a_shop_column_is_shop_owned():
    for mapper in Base.registry.mappers:
        if "shop_id" in mapper.columns:
            assert issubclass(mapper.class_, ShopOwned), mapper.class_.__name__


def test_unscoped_queries_see_every_shop(two_shops):
    assert db.session.scalar(select(func.count()).select_from(Customer)) == 6


def test_a_query_that_forgets_its_shop_sees_only_the_scoped_shop(two_shops):
    mine, theirs = two_shops
    with shop_scope(mine.id):
        emails = db.session.scalars(select(Customer.email).order_by(Customer.email)).all()
        assert emails == ["a0@example.com", "a1@example.com", "a2@example.com"]
        assert db.session.scalar(select(func.count()).select_from(Customer)) == 3
        joined = db.session.scalars(
            select(Customer.email)
            .join(SegmentMember, SegmentMember.customer_id == Customer.id)
            .join(Segment, Segment.id == SegmentMember.segment_id)
            .where(Segment.name == "VIP")
        ).all()
        assert sorted(joined) == ["a0@example.com", "a1@example.com", "a2@example.com"]
        inner = select(SegmentMember.customer_id).scalar_subquery()
        assert (
            db.session.scalar(
                select(func.count()).select_from(Customer).where(Customer.id.in_(inner))
            )
            == 3
        )
        renamed = db.session.execute(update(Customer).values(first_name="Scoped"))
        assert renamed.rowcount == 3
        removed = db.session.execute(delete(SegmentMember))
        assert removed.rowcount == 3
    db.session.commit()
    assert (
        db.session.scalar(
            select(func.count()).where(
                Customer.first_name == "Scoped", Customer.shop_id == theirs.id
            )
        )
        == 0
    )
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(SegmentMember)
            .where(SegmentMember.shop_id == theirs.id)
        )
        == 3
    )


def test_a_row_of_another_shop_is_as_absent_as_a_missing_one(two_shops):
    mine, theirs = two_shops
    mine_id, theirs_id = mine.id, theirs.id
    their_id = db.session.scalar(select(Customer.id).where(Customer.shop_id == theirs_id))
    db.session.expunge_all()
    with shop_scope(mine_id):
        assert db.session.scalar(select(Customer).where(Customer.id == their_id)) is None
        with pytest.raises(RuntimeError, match="scoped to shop"), shop_scope(theirs_id):
            pass
    assert scoped_shop() is None


def test_the_guard_scopes_a_request_and_the_scope_ends_with_it(app, admin, two_shops):
    mine, _ = two_shops
    token = admin.token()
    with app.test_request_context("/", headers={"Authorization": f"Bearer {token}"}):
        load_shop_session()
        assert scoped_shop() == mine.id
        assert db.session.scalar(select(func.count()).select_from(Customer)) == 3
    assert admin.get("/customers").status_code == 200
    assert scoped_shop() is None
    assert db.session.scalar(select(func.count()).select_from(Customer)) == 6
    assert inspect(Customer).columns["shop_id"].foreign_keys


def test_a_job_naming_its_row_runs_scoped_to_that_rows_shop(app, two_shops):
    mine, theirs = two_shops
    segment_id = db.session.scalar(select(Segment.id).where(Segment.shop_id == theirs.id))
    with job_app_context(owner=(Segment, segment_id)):
        assert scoped_shop() == theirs.id
        assert db.session.scalar(select(func.count()).select_from(Customer)) == 3
    with job_app_context(owner=(Shop, mine.id)):
        assert scoped_shop() == mine.id
    with job_app_context(owner=(Segment, 10**9)):
        assert scoped_shop() is None  # a row that is gone: the job finds nothing to do
