"""A savepoint opened before any write stays inside the transaction (SQLite, the default)."""

from __future__ import annotations

from sqlalchemy import func, select

from shopify_app.platform.extensions import db
from shopify_app.platform.models import Segment


def test_a_first_savepoint_is_rolled_back_with_its_transaction(shop):
    db.session.commit()
    with db.session.begin_nested():
        db.session.add(Segment(shop_id=shop.id, name="Kept only if committed"))
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Segment)) == 0
