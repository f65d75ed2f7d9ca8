"""Redeeming: points buy one Shopify code, never spend twice, and come back if Shopify refuses."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select, update

from shopify_app.loyalty import jobs
from shopify_app.loyalty.redeeming import NotEnoughPoints, RedeemRefused, redeem
from shopify_app.platform.extensions import db, queue
from shopify_app.platform.models import Customer, PointsEntry, Redemption, Shop
from shopify_app.platform.models.base import utcnow
from shopify_app.platform.shopify.discounts import PERCENTAGE, DiscountValue, ShopifyDiscounts
from tests.helpers import deliver, run_jobs
from tests.loyalty.conftest import (
    account,
    give_points,
    make_reward,
    post_redeem,
    redeem_from_page,
    request_id_of,
)
from tests.referrals.conftest import add_customer, local


def _redemptions() -> list[Redemption]:
    db.session.expire_all()
    return list(db.session.scalars(select(Redemption).order_by(Redemption.id)))


def _ledger(customer: Customer) -> list[tuple[str, int]]:
    return [
        (e.source, e.delta)
        for e in db.session.scalars(
            select(PointsEntry)
            .where(PointsEntry.customer_id == customer.id)
            .order_by(PointsEntry.id)
        )
    ]


def test_redeeming_creates_one_customer_code_in_shopify(client, shopify_double, shop, member):
    reward = make_reward(shop, "$5 off", 400, value=500, min_order_minor=2500)
    response, _ = redeem_from_page(client, shopify_double, shop, member, reward.id)

    assert response.status_code == 302
    [redemption] = _redemptions()
    assert response.headers["Location"] == f"/apps/referrals/account?redeemed={redemption.id}"
    assert redemption.status == "issued" and redemption.discount_gid
    assert local(shop, member.id).points_balance == 600
    assert _ledger(member)[-1] == ("redeem", -400)
    [code] = shopify_double.discount_codes(shop.domain)
    assert code["code"] == redemption.code and code["code"].startswith("POINTS-")
    assert code["customers"] == [member.shopify_gid]
    assert (code["usage_limit"], code["applies_once_per_customer"]) == (1, True)
    assert code["value"]["amount"] == "5.00" and code["min_subtotal"] == "25.00"

    page = account(client, shopify_double, shop, member, redeemed=redemption.id).get_data(
        as_text=True
    )
    assert "Here&#39;s your discount code" in page and redemption.code in page
    # The job queued after the commit finds the redemption finished: still one code.
    run_jobs(client.application)
    assert len(shopify_double.discount_codes(shop.domain)) == 1


def test_a_percentage_reward_asks_shopify_for_a_percentage(client, shopify_double, shop, member):
    reward = make_reward(shop, "10% off", 300, kind=PERCENTAGE, value=10)
    redeem_from_page(client, shopify_double, shop, member, reward.id)
    [code] = shopify_double.discount_codes(shop.domain)
    assert code["value"] == {"percentage": 0.1} and code["min_subtotal"] is None


def test_too_few_points_spend_nothing(client, shopify_double, shop, member):
    reward = make_reward(shop, "Big one", 5000)
    response, _ = redeem_from_page(client, shopify_double, shop, member, reward.id)
    assert response.headers["Location"] == "/apps/referrals/account?notice=points"
    page = account(client, shopify_double, shop, member, notice="points").get_data(as_text=True)
    assert "You don&#39;t have enough points" in page
    assert _redemptions() == [] and local(shop, member.id).points_balance == 1000
    assert shopify_double.discount_codes(shop.domain) == []


def test_a_double_submit_spends_once(client, shopify_double, shop, member):
    reward = make_reward(shop, "$5 off", 400)
    first, request_id = redeem_from_page(client, shopify_double, shop, member, reward.id)
    again = post_redeem(client, shopify_double, shop, member, reward.id, request_id)
    assert first.headers["Location"] == again.headers["Location"]
    assert len(_redemptions()) == 1
    assert local(shop, member.id).points_balance == 600
    assert len(shopify_double.discount_codes(shop.domain)) == 1


def test_a_forged_request_id_redeems_nothing(client, shopify_double, shop, member):
    reward = make_reward(shop, "$5 off", 400)
    response = post_redeem(client, shopify_double, shop, member, reward.id, "made-up.abc")
    assert response.headers["Location"] == "/apps/referrals/account?notice=expired"
    assert _redemptions() == [] and local(shop, member.id).points_balance == 1000


def _redeem_in_thread(
    app: Flask, shop_id: int, customer_id: int, reward_id: int, request_id: str,
    start: threading.Barrier, out: list,
) -> None:  # fmt: skip
    with app.app_context():
        shop = db.session.get(Shop, shop_id)
        customer = db.session.get(Customer, customer_id)
        start.wait()
        try:
            redemption = redeem(shop, customer, reward_id, request_id)
            db.session.commit()
            out.append(redemption.id)
        except RedeemRefused as refusal:
            db.session.rollback()
            out.append(type(refusal).__name__)
        finally:
            db.session.remove()


def _at_once(app: Flask, shop: Shop, customer: Customer, reward_id: int, ids: list[str]) -> list:
    start, out = threading.Barrier(len(ids)), []
    threads = [
        threading.Thread(
            target=_redeem_in_thread,
            args=(app, shop.id, customer.id, reward_id, request_id, start, out),
        )
        for request_id in ids
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return out


def test_two_redeems_at_once_never_go_below_zero(app, shop, member):
    reward = make_reward(shop, "Most of it", 600)
    out = _at_once(app, shop, member, reward.id, ["req-a", "req-b"])
    assert sorted(map(str, out))[-1] == NotEnoughPoints.__name__
    assert len(_redemptions()) == 1
    assert local(shop, member.id).points_balance == 400


def test_the_same_request_twice_at_once_spends_once(app, shop, member):
    reward = make_reward(shop, "$5 off", 300)
    out = _at_once(app, shop, member, reward.id, ["same", "same"])
    assert len(set(out)) == 1 and len(_redemptions()) == 1
    assert local(shop, member.id).points_balance == 700


def test_shopify_refusing_the_code_gives_the_points_back(client, shopify_double, shop):
    """Shopify answers userErrors (here: the customer is gone from Shopify)."""
    customer = add_customer(shopify_double, shop, email="gone@example.com", first_name="Gil")
    give_points(shop, customer, 800)
    reward = make_reward(shop, "$5 off", 500)
    page = account(client, shopify_double, shop, customer).get_data(as_text=True)
    shopify_double.delete_customer(shop.domain, customer.shopify_id)
    response = post_redeem(client, shopify_double, shop, customer, reward.id, request_id_of(page))

    [redemption] = _redemptions()
    assert redemption.status == "failed"
    assert local(shop, customer.id).points_balance == 800
    assert _ledger(customer)[-2:] == [("redeem", -500), ("redeem_refund", 500)]
    shown = account(client, shopify_double, shop, customer, redeemed=redemption.id).get_data(
        as_text=True
    )
    assert "your points have been returned" in shown
    assert "does not exist" not in shown  # never Shopify's own words
    assert response.status_code == 302
    # The sweep and the job change nothing more: the refund happened once.
    run_jobs(client.application)
    assert local(shop, customer.id).points_balance == 800


def _make_pending(shop: Shop, customer: Customer, reward_id: int) -> Redemption:
    """A redemption whose worker died after the commit: points spent, job lost."""
    redemption = redeem(shop, customer, reward_id, "lost-job")
    db.session.commit()
    queue().empty()
    db.session.execute(update(Redemption).values(updated_at=utcnow() - timedelta(minutes=5)))
    db.session.commit()
    return redemption


def test_a_lost_job_is_finished_by_the_sweep_once(app, shopify_double, shop, member):
    reward = make_reward(shop, "$5 off", 400)
    redemption = _make_pending(shop, member, reward.id)
    assert shopify_double.discount_codes(shop.domain) == []

    assert jobs.sweep_redemptions() == 1
    run_jobs(app)
    assert jobs.sweep_redemptions() == 0

    [done] = _redemptions()
    assert done.id == redemption.id and done.status == "issued"
    assert [c["code"] for c in shopify_double.discount_codes(shop.domain)] == [done.code]
    assert local(shop, member.id).points_balance == 600


def test_a_worker_killed_after_creating_the_code_does_not_create_it_twice(
    app, shopify_double, shop, member
):
    """The code exists in Shopify but the redemption is still pending: TAKEN means created."""
    reward = make_reward(shop, "$5 off", 400)
    redemption = _make_pending(shop, member, reward.id)
    ShopifyDiscounts(shop).create(
        redemption.code, "killed", DiscountValue("fixed_amount", 500), member.shopify_gid
    )
    jobs.sweep_redemptions()
    run_jobs(app)
    [done] = _redemptions()
    assert done.status == "issued" and done.discount_gid
    assert len(shopify_double.discount_codes(shop.domain)) == 1
    assert local(shop, member.id).points_balance == 600


@pytest.mark.slow
def test_shopify_down_keeps_it_pending_then_the_sweep_finishes(
    client, app, shopify_double, shop, member
):
    reward = make_reward(shop, "$5 off", 400)
    shopify_double.fail_next(status=500, n=2, retry_after=0)
    response, _ = redeem_from_page(client, shopify_double, shop, member, reward.id)
    [pending] = _redemptions()
    assert pending.status == "pending" and pending.attempts == 1
    page = account(client, shopify_double, shop, member, redeemed=pending.id)
    assert "on its way" in page.get_data(as_text=True)
    queue().empty()
    db.session.execute(update(Redemption).values(updated_at=utcnow() - timedelta(hours=1)))
    db.session.commit()
    jobs.sweep_redemptions()
    run_jobs(app)
    [done] = _redemptions()
    assert done.status == "issued" and local(shop, member.id).points_balance == 600
    assert response.status_code == 302


def test_an_order_using_the_code_marks_it_used(client, app, shopify_double, shop, member):
    reward = make_reward(shop, "$5 off", 400)
    redeem_from_page(client, shopify_double, shop, member, reward.id)
    [redemption] = _redemptions()
    order = shopify_double.add_order(
        shop.domain,
        customer_id=member.shopify_id,
        discount_codes=[redemption.code.lower()],
        total="40.00",
    )
    payload = shopify_double.order_payload(shop.domain, order)
    for _ in range(2):  # a repeated delivery changes nothing
        deliver(client, shopify_double, "orders/paid", shop.domain, payload)
        run_jobs(app)
    [used] = _redemptions()
    assert used.used_at is not None and used.used_order_id is not None
    page = account(client, shopify_double, shop, member).get_data(as_text=True)
    assert ">Used<" in page
    assert db.session.scalar(select(func.count()).select_from(Redemption)) == 1


def test_the_customer_detail_lists_codes_bought_with_points(
    client, app, admin, shopify_double, shop, member
):
    reward = make_reward(shop, "$5 off", 400)
    redeem_from_page(client, shopify_double, shop, member, reward.id)
    [redemption] = _redemptions()
    page = admin.get(f"/customers/{member.id}").get_data(as_text=True)
    card = page.split("Rewards bought with points")[1].split("</table>")[0]
    assert redemption.code in card and "Unused" in card and ">400<" in card

    order = shopify_double.add_order(
        shop.domain, customer_id=member.shopify_id, discount_codes=[redemption.code], total="9"
    )
    deliver(
        client, shopify_double, "orders/paid", shop.domain,
        shopify_double.order_payload(shop.domain, order),
    )  # fmt: skip
    run_jobs(app)
    card = admin.get(f"/customers/{member.id}").get_data(as_text=True)
    card = card.split("Rewards bought with points")[1].split("</table>")[0]
    assert "Used</span>" in card and "#" in card
