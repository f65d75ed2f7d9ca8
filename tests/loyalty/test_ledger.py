"""The ledger: one row per source key, partial removals, and the point state each change marks."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from shopify_app.loyalty.ledger import NegativeBalance, add_points
from shopify_app.platform.extensions import db
from shopify_app.platform.models import PointBalance, PointsEntry
from tests.factories import make_contact


def test_a_source_key_earns_once(shop):
    customer = make_contact(shop, "ana@example.com")
    first = add_points(shop, customer, 40, source="order", source_key="order:1:earn")
    again = add_points(shop, customer, 40, source="order", source_key="order:1:earn")
    db.session.commit()
    assert first is not None and first.balance_after == 40
    assert again is None
    assert customer.points_balance == 40
    assert db.session.scalar(select(func.count()).select_from(PointsEntry)) == 1


def test_a_partial_removal_takes_what_there_is_and_a_full_one_refuses(shop):
    customer = make_contact(shop, "ben@example.com")
    add_points(shop, customer, 30, source="order", source_key="order:2:earn")
    with pytest.raises(NegativeBalance):
        add_points(shop, customer, -50, source="manual")
    taken = add_points(shop, customer, -50, source="refund", source_key="refund:9", partial=True)
    db.session.commit()
    assert taken is not None and (taken.delta, taken.balance_after) == (-30, 0)
    assert customer.points_balance == 0


def test_each_change_marks_the_metafield_and_only_earnings_postpone_expiry(shop):
    customer = make_contact(shop, "cy@example.com")
    add_points(shop, customer, 10, source="order", source_key="order:3:earn")
    db.session.commit()
    state = db.session.get(PointBalance, customer.id)
    assert state.metafield_dirty and state.last_activity_at is not None
    earned_at = state.last_activity_at
    state.metafield_dirty = False
    db.session.commit()
    add_points(shop, customer, -10, source="expiry", source_key="expiry:x", activity=False)
    db.session.commit()
    db.session.refresh(state)
    assert state.metafield_dirty and state.last_activity_at == earned_at
