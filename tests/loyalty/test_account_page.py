"""The shopper's page: Liquid that Shopify renders in the theme, for the signed-in shopper only."""

from __future__ import annotations

import html
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from markupsafe import Markup

from shopify_app.account.liquid import liquid_text
from shopify_app.account.page import HISTORY_PAGE
from shopify_app.loyalty.ledger import add_points
from shopify_app.platform.extensions import db
from shopify_app.program.config import join_program
from tests.helpers import make_shop
from tests.loyalty.conftest import account, give_points, make_reward, redeem_from_page
from tests.referrals.conftest import add_customer


def _text(response) -> str:
    return response.get_data(as_text=True)


def test_the_page_is_liquid_with_balance_history_rewards_and_codes(
    client, shopify_double, shop, member
):
    cheap = make_reward(shop, "$5 off", 400, value=500)
    make_reward(shop, "$50 off", 5000, value=5000)
    redeem_from_page(client, shopify_double, shop, member, cheap.id)

    response = account(client, shopify_double, shop, member)
    page = _text(response)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/liquid")
    assert "<html" not in page  # Shopify puts it inside the theme
    assert "data-loyalty-balance>600<" in page
    assert "Welcome" in page and "Redeemed for $5 off" in page and "-400" in page
    assert 'action="/apps/referrals/account/redeem"' in page
    assert 'name="request_id"' in page
    assert "data-loyalty-locked" in page and "4,400 more to go" in page
    assert "POINTS-" in page and ">Unused<" in page


def test_history_shows_the_latest_rows_with_a_link_to_older_ones(
    client, shopify_double, shop, member
):
    for n in range(HISTORY_PAGE + 5):
        add_points(shop, member, 1, description=f"Visit {n}", source="manual")
    db.session.commit()
    page = _text(account(client, shopify_double, shop, member))
    assert "Visit 24" in page and "Visit 5" in page and "Visit 4" not in page
    older = page.split('href="/apps/referrals/account?before=')[1].split('"')[0]
    page2 = _text(account(client, shopify_double, shop, member, before=older))
    assert "Visit 4" in page2 and "Welcome" in page2 and "Visit 5<" not in page2


def test_a_visitor_who_is_not_signed_in_gets_the_sign_in_link(client, shopify_double, shop):
    response = account(client, shopify_double, shop, None)
    page = html.unescape(_text(response))
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/liquid")
    assert 'href="/account/login?return_url=%2Fapps%2Freferrals%2Faccount"' in page


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda q: {**q, "signature": "0" * 64}, id="wrong-signature"),
        pytest.param(lambda q: {k: v for k, v in q.items() if k != "signature"}, id="unsigned"),
        pytest.param(lambda q: {**q, "logged_in_customer_id": "42"}, id="customer-changed"),
    ],
)
def test_a_forged_request_is_a_401(client, shopify_double, shop, member, tamper):
    query = tamper(shopify_double.proxy_query(shop.domain, logged_in_customer_id=member.shopify_id))
    response = client.get("/proxy/account", query_string=query)
    assert response.status_code == 401
    assert "1,000" not in _text(response)


def test_a_stale_signature_is_a_401(client, shopify_double, shop, member):
    query = shopify_double.proxy_query(
        shop.domain, logged_in_customer_id=member.shopify_id, timestamp=int(time.time()) - 3600
    )
    assert client.get("/proxy/account", query_string=query).status_code == 401


def test_a_customer_the_app_does_not_know_gets_a_friendly_page(client, shopify_double, shop):
    query = shopify_double.proxy_query(shop.domain, logged_in_customer_id="987654321")
    response = client.get("/proxy/account", query_string=query)
    assert response.status_code == 200
    assert "still setting up your rewards account" in html.unescape(_text(response))


def test_another_shops_customer_id_sees_nothing_of_theirs(client, shopify_double, shop, member):
    other = make_shop(shopify_double, "other-shop.myshopify.com")
    query = shopify_double.proxy_query(other.domain, logged_in_customer_id=member.shopify_id)
    page = _text(client.get("/proxy/account", query_string=query))
    assert "still setting up" in page
    assert "Mia" not in page and "1,000" not in page and "Welcome" not in page


HOSTILE_NAME = "{{ customer.email }}"
HOSTILE_TEXT = "{% render 'x' %} and {{ shop.secret | json }}"


def test_liquid_in_customer_data_prints_as_text(client, shopify_double, shop):
    customer = add_customer(shopify_double, shop, email="evil@example.com", first_name=HOSTILE_NAME)
    join_program(shop, customer)
    give_points(shop, customer, 900, description=HOSTILE_TEXT)
    make_reward(shop, "{%- layout none -%}{{ 'x' }}", 100)
    redeem_from_page(client, shopify_double, shop, customer, make_reward(shop, "}}{{", 100).id)

    page = _text(account(client, shopify_double, shop, customer))
    for marker in ("{{", "}}", "{%", "%}"):
        assert marker not in page, marker
    # The shopper still reads the text as written (the browser decodes the entities).
    shown = html.unescape(page)
    assert HOSTILE_NAME in shown and "{% render &#39;x&#39; %}" not in shown
    assert "{% render 'x' %}" in shown and "{%- layout none -%}" in shown


@pytest.mark.parametrize(
    "value", ["{{ x }}", Markup("<b>{% raw %}</b>"), "{{-x-}}", "}}{{", 5, None]
)
def test_the_liquid_filter_leaves_no_braces(value):
    printed = str(liquid_text(value))
    assert "{" not in printed and "}" not in printed


def test_share_links_are_url_encoded(client, shopify_double, shop, member):
    join_program(shop, member)
    db.session.commit()
    page = html.unescape(_text(account(client, shopify_double, shop, member)))
    link = f"https://{shop.domain}/apps/referrals/r/{member.referral_code}"
    assert f'value="{link}"' in page  # the no-JS fallback: a field to copy from
    hrefs = {
        href.split(":")[0] if href.startswith("mailto") else urlsplit(href).hostname: href
        for href in (part.split('"')[0] for part in page.split('href="')[1:])
        if href.startswith(("mailto:", "https://wa.me", "https://x.com"))
    }
    assert parse_qs(urlsplit(hrefs["wa.me"]).query)["text"][0].endswith(link)
    assert parse_qs(urlsplit(hrefs["x.com"]).query)["url"] == [link]
    assert parse_qs(hrefs["mailto"].split("?", 1)[1])["body"][0].endswith(link)
    assert " " not in hrefs["mailto"] and " " not in hrefs["wa.me"]


def test_a_shopper_not_in_the_referral_program_can_join_from_the_page(
    client, shopify_double, shop, member
):
    page = _text(account(client, shopify_double, shop, member))
    assert "Join the referral program" in page and "/apps/referrals/r/" not in page
    request_id = page.split('name="request_id" value="')[1].split('"')[0]
    query = shopify_double.proxy_query(shop.domain, logged_in_customer_id=member.shopify_id)
    response = client.post(
        "/proxy/account/join", query_string=query, data={"request_id": request_id}
    )
    assert response.headers["Location"] == "/apps/referrals/account?notice=joined"
    assert "/apps/referrals/r/" in _text(account(client, shopify_double, shop, member))


def test_the_demo_storefront_exists_only_in_demo_mode(client, shop):
    assert client.get("/apps/referrals/account").status_code == 404
    assert client.post("/apps/referrals/account/redeem").status_code == 404


def test_a_reward_titled_with_its_offer_says_it_once(client, shopify_double, shop, member):
    titled = make_reward(shop, "$5 off", 400, value=500)
    make_reward(shop, "Summer treat", 450, value=500)
    redeem_from_page(client, shopify_double, shop, member, titled.id)

    page = _text(account(client, shopify_double, shop, member))
    assert "$5.00 off" not in page.split("Summer treat")[0]  # "$5 off" is not repeated
    assert "<strong>Summer treat</strong><br>$5.00 off" in page  # a name still says the offer
    assert "<strong>$5 off</strong><br>" in page and "$5 off</strong> · " not in page
