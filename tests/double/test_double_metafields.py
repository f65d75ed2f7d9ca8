"""The double's `metafieldsSet`: Shopify's shape, 25 a call, atomic, `$app` namespaces, cost."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from shopify_double import ShopifyDouble

SHOP = "meta.myshopify.com"
VERSION = "2026-10"
SET = """
mutation Set($metafields: [MetafieldsSetInput!]!) {
  metafieldsSet(metafields: $metafields) {
    metafields { id namespace key type value ownerType }
    userErrors { field message code elementIndex }
  }
}
"""


@pytest.fixture(scope="module")
def double() -> Iterator[ShopifyDouble]:
    shopify = ShopifyDouble(api_key="k", api_secret="s", api_version=VERSION, api_client_id=99)
    shopify.start(host="127.0.0.1", port=0)
    yield shopify
    shopify.stop()


@pytest.fixture
def api(double: ShopifyDouble) -> Iterator[tuple[requests.Session, str]]:
    double.reset()
    double.add_shop(SHOP)
    grant = requests.post(
        f"{double.base_url}/{SHOP}/admin/oauth/access_token",
        data={
            "client_id": "k",
            "client_secret": "s",
            "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
            "subject_token": double.session_token(SHOP),
            "subject_token_type": "urn:ietf:params:oauth:token-type:id_token",
            "requested_token_type": "urn:shopify:params:oauth:token-type:offline-access-token",
        },
        timeout=5,
    ).json()
    with requests.Session() as http:
        yield http, grant["access_token"]


def call(double: ShopifyDouble, api: tuple[requests.Session, str], query: str, variables: dict):
    http, token = api
    return http.post(
        double.api_base.format(shop=SHOP) + f"/admin/api/{VERSION}/graphql.json",
        json={"query": query, "variables": variables},
        headers={"X-Shopify-Access-Token": token},
        timeout=10,
    ).json()


def points(owner: str, value: str = "120", **overrides: str) -> dict:
    return {
        "ownerId": owner,
        "namespace": "$app:loyalty",
        "key": "points",
        "type": "number_integer",
        "value": value,
        **overrides,
    }


def test_sets_app_owned_metafields_and_answers_with_the_resolved_namespace(double, api):
    ana = double.add_customer(SHOP, email="ana@example.com")
    body = call(double, api, SET, {"metafields": [points(f"gid://shopify/Customer/{ana['id']}")]})
    result = body["data"]["metafieldsSet"]
    assert result["userErrors"] == []
    assert [(m["namespace"], m["key"], m["type"], m["value"]) for m in result["metafields"]] == [
        ("app--99--loyalty", "points", "number_integer", "120")
    ]
    assert double.app_namespace("loyalty") == "app--99--loyalty"
    assert double.metafield_value(SHOP, ana["id"], "points", "app--99--loyalty") == "120"
    assert body["extensions"]["cost"]["requestedQueryCost"] == 10
    read = call(
        double,
        api,
        'query($id: ID!) { customer(id: $id) { metafield(namespace: "$app:loyalty", key: "points")'
        " { value type } } }",
        {"id": f"gid://shopify/Customer/{ana['id']}"},
    )
    assert read["data"]["customer"]["metafield"] == {"value": "120", "type": "number_integer"}


def test_more_than_25_is_refused_and_nothing_is_set(double, api):
    ana = double.add_customer(SHOP, email="ana@example.com")
    many = [points(f"gid://shopify/Customer/{ana['id']}", str(n)) for n in range(26)]
    body = call(double, api, SET, {"metafields": many})
    assert body["data"]["metafieldsSet"] is None
    assert body["errors"][0]["extensions"]["code"] == "MAX_INPUT_SIZE_EXCEEDED"
    assert "26 is greater than the maximum allowed of 25" in body["errors"][0]["message"]
    assert double.metafields(SHOP) == []


@pytest.mark.parametrize(
    ("overrides", "field", "code"),
    [
        ({"ownerId": "gid://shopify/Customer/1"}, "ownerId", "INVALID"),
        ({"value": "12.5"}, "value", "INVALID_VALUE"),
        ({"value": str(2**63)}, "value", "INVALID_VALUE"),
        ({"type": "integer"}, "type", "INVALID_TYPE"),
        ({"key": "p"}, "key", "TOO_SHORT"),
    ],
)
def test_a_bad_input_is_a_user_error_and_the_call_writes_nothing(
    double, api, overrides, field, code
):
    ana = double.add_customer(SHOP, email="ana@example.com")
    good = points(f"gid://shopify/Customer/{ana['id']}")
    bad = {**good, **overrides}
    result = call(double, api, SET, {"metafields": [good, bad]})["data"]["metafieldsSet"]
    assert result["userErrors"] == [
        {"field": ["metafields", "1", field], "message": result["userErrors"][0]["message"],
         "code": code, "elementIndex": 1}
    ]  # fmt: skip
    assert result["metafields"] == []
    assert double.metafields(SHOP) == []


def test_a_set_costs_ten_points_of_the_bucket_and_is_throttled_like_any_call(double, api):
    ana = double.add_customer(SHOP, email="ana@example.com")
    double.configure_throttle(bucket=25, restore_rate=1)
    owner = f"gid://shopify/Customer/{ana['id']}"
    answers = [call(double, api, SET, {"metafields": [points(owner, str(n))]}) for n in range(3)]
    assert [a.get("errors", [{}])[0].get("extensions", {}).get("code") for a in answers] == [
        None,
        None,
        "THROTTLED",
    ]
    assert double.metafield_value(SHOP, ana["id"], "points", "app--99--loyalty") == "1"
