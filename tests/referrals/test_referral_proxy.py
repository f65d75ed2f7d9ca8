"""The app proxy landing trusts only requests Shopify signed, and only fresh ones."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from shopify_app.invitations.unsubscribe import unsubscribe_token
from shopify_app.platform.extensions import db
from shopify_app.platform.models import Referral
from shopify_app.program.config import join_program
from tests.referrals.conftest import add_customer, pay_order, visit


@pytest.fixture
def anna(shop, shopify_double):
    customer = add_customer(shopify_double, shop, email="anna@example.com", first_name="Anna")
    join_program(shop, customer)
    db.session.commit()
    return customer


def _referrals() -> int:
    return db.session.scalar(select(func.count()).select_from(Referral))


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda q: {**q, "signature": "0" * 64}, id="wrong-signature"),
        pytest.param(lambda q: {k: v for k, v in q.items() if k != "signature"}, id="unsigned"),
        pytest.param(lambda q: {**q, "logged_in_customer_id": "999"}, id="param-changed"),
        pytest.param(lambda q: {**q, "shop": "evil-shop.myshopify.com"}, id="other-shop"),
    ],
)
def test_forged_proxy_requests_are_rejected_and_record_nothing(
    client, shopify_double, shop, anna, tamper
):
    query = tamper(shopify_double.proxy_query(shop.domain))
    response = client.get(f"/proxy/r/{anna.referral_code}", query_string=query)
    assert response.status_code == 401
    assert _referrals() == 0
    assert shopify_double.discount_codes(shop.domain) == []


def test_a_stale_signed_request_is_rejected(client, shopify_double, shop, anna):
    query = shopify_double.proxy_query(shop.domain, timestamp=int(time.time()) - 3600)
    response = client.get(f"/proxy/r/{anna.referral_code}", query_string=query)
    assert response.status_code == 401 and _referrals() == 0


def test_an_unknown_code_is_a_404(client, shopify_double, shop, anna):
    query = shopify_double.proxy_query(shop.domain)
    response = client.get("/proxy/r/NOBODY-2345678", query_string=query)
    assert response.status_code == 404 and _referrals() == 0


@pytest.mark.slow
def test_a_shopify_failure_gives_a_retry_page_and_records_nothing(
    client, shopify_double, shop, anna
):
    shopify_double.fail_next(status=500, n=10, retry_after=0)
    query = shopify_double.proxy_query(shop.domain)
    response = client.get(f"/proxy/r/{anna.referral_code}", query_string=query)
    assert response.status_code == 503 and b"try again" in response.data
    assert _referrals() == 0


def test_the_redirect_applies_the_code_at_the_storefront(client, shopify_double, shop, anna):
    query = shopify_double.proxy_query(shop.domain)
    response = client.get(f"/proxy/r/{anna.referral_code.lower()}", query_string=query)
    assert response.status_code == 302
    referral = db.session.scalars(select(Referral)).one()
    assert response.headers["Location"] == (
        f"https://{shop.domain}/discount/{referral.discount_code}?redirect=/"
    )


def test_the_referee_code_is_created_in_shopify_starting_now(client, shopify_double, shop, anna):
    """Shopify refuses a code created without `startsAt`: the app sends now, in UTC."""
    before = datetime.now(UTC).replace(microsecond=0)
    query = shopify_double.proxy_query(shop.domain)
    response = client.get(f"/proxy/r/{anna.referral_code}", query_string=query)
    assert response.status_code == 302
    [create] = [c for c in shopify_double.graphql_calls if c["operation_name"] == "CreateCode"]
    sent = create["variables"]["input"]["startsAt"]
    assert sent.endswith("Z")
    assert before <= datetime.fromisoformat(sent) <= datetime.now(UTC)
    [code] = shopify_double.discount_codes(shop.domain)
    assert (code["status"], code["starts_at"]) == ("ACTIVE", sent.replace("Z", ".000Z"))


def test_unsubscribe_link_asks_then_unsubscribes(client, shopify_double, shop, anna):

    token = unsubscribe_token(anna)
    page = client.get(
        f"/proxy/unsubscribe/{token}", query_string=shopify_double.proxy_query(shop.domain)
    )
    assert page.status_code == 200 and b"Unsubscribe" in page.data
    db.session.expire_all()
    assert anna.unsubscribed is False
    done = client.post(
        f"/proxy/unsubscribe/{token}", query_string=shopify_double.proxy_query(shop.domain)
    )
    assert done.status_code == 200
    db.session.expire_all()
    assert anna.unsubscribed is True
    forged = client.post(
        f"/proxy/unsubscribe/{token[:-2]}xx", query_string=shopify_double.proxy_query(shop.domain)
    )
    assert forged.status_code == 404


def test_a_shopper_on_their_own_link_reads_the_stores_words_not_the_rule(
    client, shopify_double, shop, anna
):
    response = visit(client, shopify_double, shop, anna.referral_code, anna)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "This link is for friends of Anna" in page
    assert "can&#39;t be used on your own account" in page
    assert "Self-referral" not in page and "referee" not in page


def test_a_returning_customer_is_welcomed_back_not_told_a_rule(
    client, shopify_double, app, shop, anna
):
    regular = add_customer(shopify_double, shop, email="reg@example.com", first_name="Reg")
    pay_order(client, shopify_double, app, shop, customer=regular, total="20.00")
    page = visit(client, shopify_double, shop, anna.referral_code, regular).get_data(as_text=True)
    assert "Welcome back" in page and "you&#39;ve shopped with us before" in page
    assert "The referee had already ordered before" not in page
