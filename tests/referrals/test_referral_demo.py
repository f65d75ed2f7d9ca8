"""The demo's referrals come from the engine: statuses, rewards and stats all consistent."""

from __future__ import annotations

from sqlalchemy import func, select

from demo.referrals import seed_demo_referrals
from demo.shop import seed_customers
from shopify_app.platform.extensions import db, queue
from shopify_app.platform.models import Customer, Invitation, Referral, Reward
from shopify_app.referrals.stats import referral_stats
from tests.referrals.conftest import add_customer


def _assert_consistent(shop) -> dict[str, int]:
    db.session.expire_all()
    statuses = dict(
        db.session.execute(select(Referral.status, func.count()).group_by(Referral.status)).all()
    )
    assert statuses.get("completed") and statuses.get("pending") and statuses.get("blocked")
    reasons = set(db.session.scalars(select(Referral.block_reason).distinct()))
    assert len(reasons - {None}) >= 2
    assert db.session.scalar(select(func.count()).where(Reward.status == "used"))
    for referrer in db.session.scalars(select(Customer).where(Customer.joined_at.is_not(None))):
        expected = referral_stats(shop, referrer.id)
        assert {k: getattr(referrer, k) for k in expected} == expected
    return statuses


def test_demo_seeding_runs_the_engine_with_codes_in_shopify(ctx, shop, shopify_double, inbox):
    for n in range(80):
        add_customer(shopify_double, shop, email=f"demo{n}@example.com", first_name=f"Demo{n}")
    summary = seed_demo_referrals(shop)
    assert "discount codes kept local" not in summary
    _assert_consistent(shop)
    in_shopify = {d["code"] for d in shopify_double.discount_codes(shop.domain)}
    rewards = set(db.session.scalars(select(Reward.code)))
    assert rewards and rewards <= in_shopify
    assert seed_demo_referrals(shop).endswith("already seeded")


def test_demo_seeding_keeps_codes_local_without_shopify(ctx, shop, app, shopify_double, inbox):
    seed_customers(shop, 300)
    db.session.commit()
    previous = app.config["SHOPIFY_API_BASE"]
    app.config["SHOPIFY_API_BASE"] = "http://127.0.0.1:9/{shop}"  # nothing listens there
    try:
        summary = seed_demo_referrals(shop)
    finally:
        app.config["SHOPIFY_API_BASE"] = previous
    assert "discount codes kept local" in summary
    _assert_consistent(shop)
    assert set(db.session.scalars(select(Reward.shopify_status).distinct())) == {"offline"}
    assert queue().count == 0 and shopify_double.discount_codes(shop.domain) == []
    outcomes = dict(
        db.session.execute(
            select(Invitation.status, func.count()).group_by(Invitation.status)
        ).all()
    )
    assert outcomes.get("sent", 0) >= 25 and sum(outcomes.values()) == 30
    assert len(inbox.messages) == outcomes["sent"]  # through SMTP_URL (bin/run's mail sink)
