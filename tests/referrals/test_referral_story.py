"""The whole story against the Shopify double and a real SMTP server, end to end."""

from __future__ import annotations

from sqlalchemy import select

from shopify_app.platform.extensions import db
from shopify_app.platform.models import Invitation, Referral, Reward
from shopify_app.referrals.stats import referral_stats
from tests.helpers import run_jobs
from tests.referrals.conftest import add_customer, local, pay_order, visit_code


def test_invite_visit_order_reward_used(client, admin, app, shopify_double, shop, inbox):
    anna = add_customer(shopify_double, shop, email="anna@example.com", first_name="Anna")
    bob = add_customer(shopify_double, shop, email="bob@example.com", first_name="Bob")

    dialog = admin.get("/invitations/new", query_string={"customer_id": anna.id})
    assert dialog.status_code == 200 and b"Will be invited: 1" in dialog.data
    sent = admin.post("/invitations", {"customer_id": anna.id})
    assert sent.status_code == 302
    run_jobs(app)

    [message] = inbox.to("anna@example.com")
    assert message["Subject"] == f"{shop.name} invites you to refer a friend"
    code = inbox.link_code(message)
    assert local(shop, anna.id).referral_code == code
    assert db.session.scalars(select(Invitation)).one().status == "sent"

    friend_code = visit_code(client, shopify_double, shop, code, None)
    pay_order(client, shopify_double, app, shop, customer=bob, codes=[friend_code], total="120.00")
    referral = db.session.scalars(select(Referral)).one()
    assert (referral.status, referral.order_total_minor) == ("completed", 12000)
    reward = db.session.scalars(select(Reward)).one()
    in_shopify = {d["code"]: d for d in shopify_double.discount_codes(shop.domain)}
    assert in_shopify[reward.code]["customer_ids"] == [anna.shopify_id]

    pay_order(client, shopify_double, app, shop, customer=anna, codes=[reward.code], total="64.00")
    db.session.expire_all()
    assert db.session.scalars(select(Reward)).one().status == "used"
    fresh = local(shop, anna.id)
    assert (fresh.successful_referrals, fresh.referee_revenue_minor) == (1, 12000)
    assert fresh.referrer_revenue_minor == 6400
    assert referral_stats(shop, anna.id) == {
        "total_referees": 1,
        "successful_referrals": 1,
        "referee_revenue_minor": 12000,
        "referrer_revenue_minor": 6400,
    }
