"""The Shopify double speaks Shopify's wire formats, checked over plain HTTP as the app sees it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import jwt
import pytest
import requests
from flask import Flask, request
from werkzeug.serving import make_server

from shopify_double import ShopifyDouble
from shopify_double.demo import ActivityStream

API_KEY = "test-key"
API_SECRET = "shpss_0123456789abcdef0123456789abcdef"
SHOP = "demo.myshopify.com"
VERSION = "2026-10"
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ID_TOKEN = "urn:ietf:params:oauth:token-type:id_token"
OFFLINE_TOKEN = "urn:shopify:params:oauth:token-type:offline-access-token"


class Receiver:
    """A stand-in for the app's POST /webhooks that keeps what arrived."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        app = Flask("receiver")

        @app.post("/webhooks")
        def webhooks() -> tuple[str, int]:
            self.received.append({"headers": dict(request.headers), "body": request.get_data()})
            return "", 200

        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


@pytest.fixture(scope="module")
def double(receiver: Receiver) -> Iterator[ShopifyDouble]:
    shopify = ShopifyDouble(
        api_key=API_KEY, api_secret=API_SECRET, app_url=receiver.url, api_version=VERSION
    )
    shopify.start(host="127.0.0.1", port=0)
    yield shopify
    shopify.stop()


@pytest.fixture(autouse=True)
def shop(double: ShopifyDouble, receiver: Receiver) -> str:
    double.reset()
    receiver.received.clear()
    double.add_shop(SHOP, name="Demo Store")
    return SHOP


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


def token_url(double: ShopifyDouble, shop: str = SHOP) -> str:
    return f"{double.base_url}/{shop}/admin/oauth/access_token"


def graphql_url(double: ShopifyDouble, shop: str = SHOP) -> str:
    return double.api_base.format(shop=shop) + f"/admin/api/{VERSION}/graphql.json"


def exchange(
    double: ShopifyDouble, http: requests.Session, *, expiring: bool = False, **overrides: Any
) -> requests.Response:
    data = {
        "client_id": API_KEY,
        "client_secret": API_SECRET,
        "grant_type": TOKEN_EXCHANGE,
        "subject_token": double.session_token(SHOP),
        "subject_token_type": ID_TOKEN,
        "requested_token_type": OFFLINE_TOKEN,
        **({"expiring": "1"} if expiring else {}),
        **overrides,
    }
    return http.post(token_url(double), data=data, timeout=5)


@pytest.fixture
def token(double: ShopifyDouble, http: requests.Session) -> str:
    return exchange(double, http).json()["access_token"]


def gql(
    double: ShopifyDouble,
    http: requests.Session,
    token: str,
    query: str,
    variables: dict | None = None,
) -> requests.Response:
    return http.post(
        graphql_url(double),
        json={"query": query, "variables": variables or {}},
        headers={"X-Shopify-Access-Token": token},
        timeout=10,
    )


def authorize(double: ShopifyDouble, http: requests.Session, **params: str) -> requests.Response:
    query = {
        "client_id": API_KEY,
        "scope": "read_customers,write_discounts",
        "redirect_uri": f"{double.app_url}/auth/callback",
        "state": "nonce-123",
        **params,
    }
    return http.get(
        f"{double.base_url}/{SHOP}/admin/oauth/authorize",
        params=query,
        allow_redirects=False,
        timeout=5,
    )


def callback_params(response: requests.Response) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(response.headers["Location"]).query))


def code_grant(double: ShopifyDouble, http: requests.Session, code: str, **extra: str):
    data = {"client_id": API_KEY, "client_secret": API_SECRET, "code": code, **extra}
    return http.post(token_url(double), data=data, timeout=5)


def test_health(double: ShopifyDouble, http: requests.Session) -> None:
    response = http.get(f"{double.base_url}/health", timeout=5)
    assert response.status_code == 200
    assert response.text == "ok"


def test_unknown_shop_is_404(double: ShopifyDouble, http: requests.Session, token: str) -> None:
    assert http.post(token_url(double, "nope.myshopify.com"), timeout=5).status_code == 404
    response = http.post(
        graphql_url(double, "nope.myshopify.com"),
        json={"query": "{ shop { name } }"},
        headers={"X-Shopify-Access-Token": token},
        timeout=5,
    )
    assert response.status_code == 404


def test_authorize_redirects_with_verifiable_hmac(
    double: ShopifyDouble, http: requests.Session
) -> None:
    response = authorize(double, http)

    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith(f"{double.app_url}/auth/callback?")
    params = callback_params(response)
    assert params["shop"] == SHOP
    assert params["state"] == "nonce-123"
    assert abs(int(params["timestamp"]) - time.time()) < 5
    received = params.pop("hmac")
    message = "&".join(f"{k}={v}" for k, v in sorted(params.items()))
    expected = hmac.new(API_SECRET.encode(), message.encode(), hashlib.sha256).hexdigest()
    assert hmac.compare_digest(received, expected)
    host = params["host"]
    assert "=" not in host
    assert base64.urlsafe_b64decode(host + "=" * (-len(host) % 4)) == (
        b"admin.shopify.com/store/demo"
    )


@pytest.mark.parametrize(
    "override",
    [{"client_id": "someone-else"}, {"redirect_uri": "https://evil.example/auth/callback"}],
)
def test_authorize_rejects_wrong_client_or_redirect(
    double: ShopifyDouble, http: requests.Session, override: dict[str, str]
) -> None:
    response = authorize(double, http, **override)
    assert response.status_code == 400
    assert "Location" not in response.headers


def test_code_grant_is_single_use(double: ShopifyDouble, http: requests.Session) -> None:
    code = callback_params(authorize(double, http))["code"]

    first = code_grant(double, http, code)
    second = code_grant(double, http, code)

    assert first.status_code == 200
    body = first.json()
    assert body["access_token"].startswith("shpat_")
    assert body["scope"] == "read_customers,write_discounts"
    assert "refresh_token" not in body
    assert double.access_tokens(SHOP) == [body["access_token"]]
    assert second.status_code == 400
    assert second.json()["error"] == "invalid_request"


def test_expiring_code_grant_and_refresh_rotation(
    double: ShopifyDouble, http: requests.Session
) -> None:
    code = callback_params(authorize(double, http))["code"]
    body = code_grant(double, http, code, expiring="1").json()
    assert body["expires_in"] == 3600
    assert body["refresh_token"].startswith("shprt_")
    assert body["refresh_token_expires_in"] == 7776000

    refresh = {"client_id": API_KEY, "client_secret": API_SECRET, "grant_type": "refresh_token"}
    rotated = http.post(
        token_url(double), data={**refresh, "refresh_token": body["refresh_token"]}, timeout=5
    )
    reused = http.post(
        token_url(double), data={**refresh, "refresh_token": body["refresh_token"]}, timeout=5
    )

    assert rotated.status_code == 200
    new = rotated.json()
    assert new["refresh_token"] != body["refresh_token"]
    assert new["access_token"] != body["access_token"]
    assert reused.status_code == 400
    assert reused.json()["error"] == "invalid_grant"
    assert gql(double, http, new["access_token"], "{ shop { name } }").status_code == 200
    assert [r["grant_type"] for r in double.token_requests] == [
        "authorization_code",
        "refresh_token",
        "refresh_token",
    ]


def test_refresh_accepts_json_body(double: ShopifyDouble, http: requests.Session) -> None:
    """A JSON refresh works like a form one: new tokens that work, the old refresh token spent."""
    body = exchange(double, http, expiring=True).json()

    def refresh(token: str) -> requests.Response:
        return http.post(
            token_url(double),
            json={
                "client_id": API_KEY,
                "client_secret": API_SECRET,
                "grant_type": "refresh_token",
                "refresh_token": token,
            },
            timeout=5,
        )

    response = refresh(body["refresh_token"])
    reused = refresh(body["refresh_token"])

    assert response.status_code == 200
    new = response.json()
    assert new["refresh_token"].startswith("shprt_")
    assert new["refresh_token"] != body["refresh_token"]
    assert new["access_token"] != body["access_token"]
    assert (new["expires_in"], new["refresh_token_expires_in"]) == (3600, 7776000)
    assert gql(double, http, new["access_token"], "{ shop { name } }").json()["data"] == {
        "shop": {"name": "Demo Store"}
    }
    assert (reused.status_code, reused.json()["error"]) == (400, "invalid_grant")
    assert refresh(new["refresh_token"]).status_code == 200  # the rotated one works once
    assert [r["grant_type"] for r in double.token_requests][-3:] == ["refresh_token"] * 3


def test_expired_access_token_gets_401(double: ShopifyDouble, http: requests.Session) -> None:
    token = exchange(double, http, expiring=True).json()["access_token"]
    assert gql(double, http, token, "{ shop { name } }").status_code == 200

    double.expire_access_tokens(SHOP)
    response = gql(double, http, token, "{ shop { name } }")

    assert response.status_code == 401
    assert response.json() == {
        "errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"
    }
    assert double.access_tokens(SHOP) == []


def test_access_token_ttl_is_configurable(double: ShopifyDouble, http: requests.Session) -> None:
    double.access_token_ttl = 1
    body = exchange(double, http, expiring=True).json()
    assert body["expires_in"] == 1
    time.sleep(1.1)
    assert gql(double, http, body["access_token"], "{ shop { name } }").status_code == 401


def test_missing_token_gets_401(double: ShopifyDouble, http: requests.Session) -> None:
    response = http.post(graphql_url(double), json={"query": "{ shop { name } }"}, timeout=5)
    assert response.status_code == 401
    assert "Invalid API key or access token" in response.json()["errors"]


def test_token_exchange_returns_offline_token(
    double: ShopifyDouble, http: requests.Session
) -> None:
    response = exchange(double, http, expiring=True)

    assert response.status_code == 200
    body = response.json()
    assert body["access_token"].startswith("shpat_")
    assert body["scope"] == double.scopes
    assert body["expires_in"] == 3600
    assert body["refresh_token"].startswith("shprt_")
    assert double.shop(SHOP)["installed"] is True


@pytest.mark.parametrize(
    "token_options",
    [
        {"secret": "wrong-secret"},
        {"aud": "another-app"},
        {"exp_in": -60},
        {"nbf_offset": 120},
        {"dest": "https://other.myshopify.com", "iss": "https://other.myshopify.com/admin"},
        {"alg": "none"},
        {"extra": {"exp": None}},
    ],
    ids=[
        "bad-signature",
        "wrong-aud",
        "expired",
        "not-yet-valid",
        "other-shop",
        "unsigned",
        "no-exp",
    ],
)
def test_token_exchange_rejects_bad_subject_token(
    double: ShopifyDouble, http: requests.Session, token_options: dict[str, Any]
) -> None:
    subject = double.session_token(SHOP, **token_options)

    response = exchange(double, http, subject_token=subject)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_subject_token"
    assert response.json()["error_description"]
    assert double.access_tokens(SHOP) == []


@pytest.mark.parametrize(
    "credentials", [{"client_id": "other"}, {"client_secret": "wrong"}], ids=["id", "secret"]
)
def test_wrong_client_credentials_are_invalid_client(
    double: ShopifyDouble, http: requests.Session, credentials: dict[str, str]
) -> None:
    response = exchange(double, http, **credentials)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert double.access_tokens(SHOP) == []


def test_session_token_claims(double: ShopifyDouble) -> None:
    token = double.session_token(SHOP, user_id=42)

    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    claims = jwt.decode(token, API_SECRET, algorithms=["HS256"], audience=API_KEY)
    assert claims["iss"] == f"https://{SHOP}/admin"
    assert claims["dest"] == f"https://{SHOP}"
    assert claims["aud"] == API_KEY
    assert claims["sub"] == "42"
    now = time.time()
    assert now < claims["exp"] <= now + 61
    assert claims["nbf"] <= now
    assert claims["iat"] <= now
    assert claims["jti"] and claims["sid"]


def test_unsigned_session_token_has_alg_none(double: ShopifyDouble) -> None:
    token = double.session_token(SHOP, alg="none")
    header, payload, signature = token.split(".")
    assert jwt.get_unverified_header(token)["alg"] == "none"
    assert signature == ""
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims["dest"] == f"https://{SHOP}"


def test_shop_query_has_cost_extension(
    double: ShopifyDouble, http: requests.Session, token: str
) -> None:
    response = gql(double, http, token, "{ shop { name myshopifyDomain currencyCode } }")

    assert response.status_code == 200
    body = response.json()
    assert body["data"]["shop"] == {
        "name": "Demo Store",
        "myshopifyDomain": SHOP,
        "currencyCode": "USD",
    }
    cost = body["extensions"]["cost"]
    assert cost["requestedQueryCost"] == 1
    assert cost["actualQueryCost"] == 1
    assert cost["throttleStatus"] == {
        "maximumAvailable": 2000.0,
        "currentlyAvailable": cost["throttleStatus"]["currentlyAvailable"],
        "restoreRate": 100.0,
    }
    assert 1990 <= cost["throttleStatus"]["currentlyAvailable"] <= 2000


CUSTOMERS_PAGE = """
query Customers($first: Int!, $after: String, $query: String) {
  customers(first: $first, after: $after, query: $query) {
    edges { cursor node { id legacyResourceId email state updatedAt } }
    pageInfo { hasNextPage endCursor hasPreviousPage }
  }
}
"""


def test_customers_paginate_over_more_than_250(
    double: ShopifyDouble, http: requests.Session, token: str
) -> None:
    for n in range(260):
        double.add_customer(SHOP, first_name=f"C{n}", email=f"c{n}@example.com")

    seen: list[str] = []
    after = None
    pages = 0
    while True:
        body = gql(double, http, token, CUSTOMERS_PAGE, {"first": 100, "after": after}).json()
        connection = body["data"]["customers"]
        seen += [edge["node"]["id"] for edge in connection["edges"]]
        pages += 1
        assert connection["pageInfo"]["hasPreviousPage"] is (pages > 1)
        if not connection["pageInfo"]["hasNextPage"]:
            break
        after = connection["pageInfo"]["endCursor"]
        base64.b64decode(after, validate=True)

    assert pages == 3
    assert len(seen) == len(set(seen)) == 260
    assert seen == [f"gid://shopify/Customer/{c['id']}" for c in double.customers(SHOP)]
    last_call = double.graphql_calls[-1]
    assert last_call["operation_name"] == "Customers"
    assert last_call["root_fields"] == ["customers"]
    assert last_call["requested_cost"] == 102
    assert last_call["actual_cost"] == 62


def test_first_is_required_and_capped(
    double: ShopifyDouble, http: requests.Session, token: str
) -> None:
    missing = gql(double, http, token, "{ customers { nodes { id } } }").json()
    too_many = gql(double, http, token, "{ customers(first: 251) { nodes { id } } }").json()

    assert missing["errors"][0]["message"] == "you must provide one of first or last"
    assert missing["data"] is None
    assert "250" in too_many["errors"][0]["message"]


def test_customer_search_by_updated_at_and_email(
    double: ShopifyDouble, http: requests.Session, token: str
) -> None:
    old = double.add_customer(SHOP, email="old@example.com")
    middle = double.add_customer(SHOP, email="Middle@Example.com", state="DISABLED")
    changed = double.update_customer(SHOP, old["id"], first_name="Renamed")

    newer = gql(
        double,
        http,
        token,
        CUSTOMERS_PAGE,
        {"first": 10, "query": f"updated_at:>'{middle['updated_at']}'"},
    ).json()
    by_email = gql(
        double, http, token, CUSTOMERS_PAGE, {"first": 10, "query": "email:middle@example.com"}
    ).json()

    assert [e["node"]["email"] for e in newer["data"]["customers"]["edges"]] == ["old@example.com"]
    node = by_email["data"]["customers"]["edges"][0]["node"]
    assert node["legacyResourceId"] == str(middle["id"])
    assert node["state"] == "DISABLED"
    assert changed["updated_at"] > middle["updated_at"]


def test_updated_at_strictly_increases_within_a_second(double: ShopifyDouble) -> None:
    customer = double.add_customer(SHOP, email="a@example.com")
    stamps = [customer["updated_at"]]
    for n in range(20):
        stamps.append(double.update_customer(SHOP, customer["id"], note=str(n))["updated_at"])

    assert stamps == sorted(set(stamps))
    assert all(s.endswith("Z") and len(s) == len("2026-01-01T00:00:00.000Z") for s in stamps)


def test_customer_fields_match_shopify(
    double: ShopifyDouble, http: requests.Session, token: str
) -> None:
    customer = double.add_customer(
        SHOP, first_name="Ada", last_name="Lovelace", email="ada@example.com", tags=["vip"]
    )
    double.add_order(SHOP, customer_id=customer["id"], total="12.50")
    query = """query($id: ID!) { customer(id: $id) {
        id firstName lastName email defaultEmailAddress { emailAddress } locale state tags
        numberOfOrders amountSpent { amount currencyCode } } customersCount { count } }"""

    body = gql(double, http, token, query, {"id": customer["admin_graphql_api_id"]}).json()

    assert body["data"] == {
        "customer": {
            "id": customer["admin_graphql_api_id"],
            "firstName": "Ada",
            "lastName": "Lovelace",
            "email": "ada@example.com",
            "defaultEmailAddress": {"emailAddress": "ada@example.com"},
            "locale": "en",
            "state": "ENABLED",
            "tags": ["vip"],
            "numberOfOrders": "1",
            "amountSpent": {"amount": "12.5", "currencyCode": "USD"},
        },
        "customersCount": {"count": 1},
    }


def test_validation_errors_have_shopify_shape(
    double: ShopifyDouble, http: requests.Session, token: str
) -> None:
    response = gql(double, http, token, "{ shop { nope } }")

    assert response.status_code == 200
    error = response.json()["errors"][0]
    assert "nope" in error["message"]
    assert error["locations"] == [{"line": 1, "column": 10}]
    assert error["extensions"]["code"] == "undefinedField"
    assert "data" not in response.json()


def test_syntax_errors_and_missing_query(
    double: ShopifyDouble, http: requests.Session, token: str
) -> None:
    syntax = gql(double, http, token, "{ shop { ").json()
    missing = http.post(
        graphql_url(double), json={}, headers={"X-Shopify-Access-Token": token}, timeout=5
    )

    assert syntax["errors"][0]["locations"]
    assert missing.status_code == 400


@pytest.mark.parametrize(("version", "status"), [("2024-10", 200), (VERSION, 415)])
def test_application_graphql_bodies_are_refused_since_2025_01(
    double: ShopifyDouble, http: requests.Session, token: str, version: str, status: int
) -> None:
    response = http.post(
        graphql_url(double).replace(VERSION, version),
        data="{ shop { name } }",
        headers={"X-Shopify-Access-Token": token, "Content-Type": "application/graphql"},
        timeout=5,
    )

    assert response.status_code == status
    if status == 415:
        assert response.json() == {
            "errors": "Unsupported Content-Type header, use application/json"
        }
    else:
        assert response.json()["data"] == {"shop": {"name": "Demo Store"}}


def test_max_cost_exceeded(double: ShopifyDouble, http: requests.Session, token: str) -> None:
    query = "{ customers(first: 250) { nodes { id orders(first: 10) { nodes { id } } } } }"

    body = gql(double, http, token, query).json()

    assert body["errors"][0]["extensions"]["code"] == "MAX_COST_EXCEEDED"
    assert body["extensions"]["cost"]["requestedQueryCost"] == 2 + 250 * (1 + 2 + 10)


PAGE_OF_20 = "{ customers(first: 20) { nodes { id } } }"


def test_throttled_when_bucket_is_empty_then_recovers(
    double: ShopifyDouble, http: requests.Session, token: str
) -> None:
    for n in range(20):
        double.add_customer(SHOP, email=f"t{n}@example.com")
    double.configure_throttle(bucket=50, restore_rate=20)

    answers = [gql(double, http, token, PAGE_OF_20) for _ in range(3)]

    assert all(a.status_code == 200 for a in answers)
    assert "errors" not in answers[0].json()
    assert "errors" not in answers[1].json()
    throttled = answers[2].json()
    assert "data" not in throttled
    assert throttled["errors"] == [
        {
            "message": "Throttled",
            "extensions": {
                "code": "THROTTLED",
                "documentation": "https://shopify.dev/api/usage/rate-limits",
            },
        }
    ]
    cost = throttled["extensions"]["cost"]
    assert cost["requestedQueryCost"] == 22
    assert cost["actualQueryCost"] is None
    status = cost["throttleStatus"]
    assert status["maximumAvailable"] == 50.0
    assert status["restoreRate"] == 20.0
    assert status["currentlyAvailable"] < 22

    time.sleep((22 - status["currentlyAvailable"]) / status["restoreRate"] + 0.1)
    recovered = gql(double, http, token, PAGE_OF_20).json()

    assert "errors" not in recovered
    assert len(recovered["data"]["customers"]["nodes"]) == 20
    assert [c["throttled"] for c in double.graphql_calls] == [False, False, True, False]


def test_throttle_next_forces_throttled(
    double: ShopifyDouble, http: requests.Session, token: str
) -> None:
    double.throttle_next(2)

    answers = [gql(double, http, token, "{ shop { name } }").json() for _ in range(3)]

    assert [a.get("errors", [{}])[0].get("extensions", {}).get("code") for a in answers] == [
        "THROTTLED",
        "THROTTLED",
        None,
    ]
    assert answers[2]["data"]["shop"]["name"] == "Demo Store"


def test_fail_next_answers_status_then_recovers(
    double: ShopifyDouble, http: requests.Session, token: str
) -> None:
    double.fail_next(status=500)
    double.fail_next(status=429, retry_after=2.0)

    server_error = gql(double, http, token, "{ shop { name } }")
    too_many = gql(double, http, token, "{ shop { name } }")
    ok = gql(double, http, token, "{ shop { name } }")

    assert server_error.status_code == 500
    assert server_error.json()["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert too_many.status_code == 429
    assert too_many.headers["Retry-After"] == "2.0"
    assert ok.status_code == 200
    assert [c["status"] for c in double.graphql_calls] == [500, 429, 200]


CREATE_DISCOUNT = """
mutation Create($input: DiscountCodeBasicInput!) {
  discountCodeBasicCreate(basicCodeDiscount: $input) {
    codeDiscountNode {
      id
      codeDiscount {
        ... on DiscountCodeBasic { title status usageLimit codes(first: 1) { nodes { code } } }
      }
    }
    userErrors { field message code }
  }
}
"""


def discount_input(code: str, customer_gid: str) -> dict[str, Any]:
    return {
        "title": "Referral reward",
        "code": code,
        "startsAt": "2026-01-01T00:00:00Z",
        "context": {"customers": {"add": [customer_gid]}},
        "customerGets": {"value": {"percentage": 0.1}, "items": {"all": True}},
        "usageLimit": 1,
        "appliesOncePerCustomer": True,
        "combinesWith": {"orderDiscounts": False},
    }


def test_discount_code_basic_create_and_taken(
    double: ShopifyDouble, http: requests.Session, token: str
) -> None:
    customer = double.add_customer(SHOP, email="ref@example.com")
    gid = customer["admin_graphql_api_id"]

    created = gql(double, http, token, CREATE_DISCOUNT, {"input": discount_input("REF-ABC", gid)})
    taken = gql(double, http, token, CREATE_DISCOUNT, {"input": discount_input("ref-abc", gid)})
    blank = gql(double, http, token, CREATE_DISCOUNT, {"input": discount_input(" ", gid)})

    payload = created.json()["data"]["discountCodeBasicCreate"]
    assert payload["userErrors"] == []
    assert payload["codeDiscountNode"]["id"].startswith("gid://shopify/DiscountCodeNode/")
    assert payload["codeDiscountNode"]["codeDiscount"] == {
        "title": "Referral reward",
        "status": "ACTIVE",
        "usageLimit": 1,
        "codes": {"nodes": [{"code": "REF-ABC"}]},
    }
    assert created.json()["extensions"]["cost"]["requestedQueryCost"] == 10
    assert taken.json()["data"]["discountCodeBasicCreate"] == {
        "codeDiscountNode": None,
        "userErrors": [
            {
                "field": ["basicCodeDiscount", "code"],
                "message": "Code must be unique. Please try a different code.",
                "code": "TAKEN",
            }
        ],
    }
    assert blank.json()["data"]["discountCodeBasicCreate"]["userErrors"][0]["code"] == "BLANK"
    [stored] = double.discount_codes(SHOP)
    assert stored["code"] == "REF-ABC"
    assert stored["customers"] == [gid]
    assert stored["usage_limit"] == 1
    assert stored["applies_once_per_customer"] is True
    assert stored["value"] == {"percentage": 0.1}
    assert stored["status"] == "ACTIVE"


@pytest.mark.parametrize(
    ("missing", "error"),
    [
        (
            "startsAt",
            {
                "field": ["basicCodeDiscount", "startsAt"],
                "message": "Starts at can't be blank",
                "code": "BLANK",
            },
        ),
        (
            "context",
            {
                "field": ["basicCodeDiscount", "context"],
                "message": "Context can't be blank",
                "code": "BLANK",
            },
        ),
    ],
)
def test_discount_create_refuses_a_missing_required_input(
    double: ShopifyDouble, http: requests.Session, token: str, missing: str, error: dict
) -> None:
    """Shopify requires `startsAt` and `context` when creating a code and fills in neither."""
    customer = double.add_customer(SHOP, email="ref@example.com")
    data = discount_input("NOSTART", customer["admin_graphql_api_id"])
    del data[missing]

    body = gql(double, http, token, CREATE_DISCOUNT, {"input": data}).json()

    assert "errors" not in body
    assert body["data"]["discountCodeBasicCreate"] == {
        "codeDiscountNode": None,
        "userErrors": [error],
    }
    assert double.discount_codes(SHOP) == []


def test_discount_lookup_deactivate_and_use(
    double: ShopifyDouble, http: requests.Session, token: str
) -> None:
    customer = double.add_customer(SHOP, email="ref@example.com")
    created = gql(
        double,
        http,
        token,
        CREATE_DISCOUNT,
        {"input": discount_input("SAVE10", customer["admin_graphql_api_id"])},
    ).json()
    node_id = created["data"]["discountCodeBasicCreate"]["codeDiscountNode"]["id"]
    order = double.add_order(
        SHOP, customer_id=customer["id"], total="90.00", discount_codes=["SAVE10"]
    )

    found = gql(
        double,
        http,
        token,
        '{ codeDiscountNodeByCode(code: "save10") { id codeDiscount { ... on DiscountCodeBasic '
        "{ asyncUsageCount } } } }",
    ).json()
    deactivated = gql(
        double,
        http,
        token,
        "mutation($id: ID!) { discountCodeDeactivate(id: $id) { codeDiscountNode { "
        "codeDiscount { ... on DiscountCodeBasic { status } } } userErrors { message } } }",
        {"id": node_id},
    ).json()

    assert found["data"]["codeDiscountNodeByCode"] == {
        "id": node_id,
        "codeDiscount": {"asyncUsageCount": 1},
    }
    assert order["discount_codes"] == [{"code": "SAVE10", "amount": "10.00", "type": "percentage"}]
    payload = deactivated["data"]["discountCodeDeactivate"]
    assert payload["codeDiscountNode"]["codeDiscount"]["status"] == "EXPIRED"


def test_scopes_are_enforced(double: ShopifyDouble, http: requests.Session) -> None:
    code = callback_params(authorize(double, http, scope="read_customers"))["code"]
    token = code_grant(double, http, code).json()["access_token"]

    body = gql(double, http, token, "{ orders(first: 5) { nodes { id } } }").json()

    assert body["errors"][0]["extensions"]["code"] == "ACCESS_DENIED"


BULK_QUERY = """
{
  customers {
    edges { node { id email orders { edges { node { id name } } } } }
  }
}
"""
RUN_BULK = """
mutation($query: String!) {
  bulkOperationRunQuery(query: $query) {
    bulkOperation { id status }
    userErrors { field message code }
  }
}
"""
BULK_BY_ID = """
query($id: ID!) {
  bulkOperation(id: $id) { id status errorCode objectCount url createdAt completedAt }
}
"""
CURRENT_BULK = "{ currentBulkOperation { id status } }"


def run_bulk(double: ShopifyDouble, http: requests.Session, token: str, query: str) -> dict:
    return gql(double, http, token, RUN_BULK, {"query": query}).json()["data"][
        "bulkOperationRunQuery"
    ]


def bulk_by_id(double: ShopifyDouble, http: requests.Session, token: str, op_id: str) -> dict:
    return gql(double, http, token, BULK_BY_ID, {"id": op_id}).json()["data"]["bulkOperation"]


def test_bulk_operation_writes_jsonl(
    double: ShopifyDouble, http: requests.Session, token: str
) -> None:
    customers = [double.add_customer(SHOP, email=f"b{n}@example.com") for n in range(30)]
    order = double.add_order(SHOP, customer_id=customers[0]["id"])

    started = gql(double, http, token, RUN_BULK, {"query": BULK_QUERY}).json()
    current = bulk_by_id(
        double, http, token, started["data"]["bulkOperationRunQuery"]["bulkOperation"]["id"]
    )
    by_node = gql(
        double,
        http,
        token,
        "query($id: ID!) { node(id: $id) { id ... on BulkOperation { status } } }",
        {"id": current["id"]},
    ).json()
    download = http.get(current["url"], timeout=5)

    payload = started["data"]["bulkOperationRunQuery"]
    assert payload["userErrors"] == []
    assert payload["bulkOperation"]["status"] == "CREATED"
    assert current["id"] == payload["bulkOperation"]["id"]
    assert current["status"] == "COMPLETED"
    assert current["errorCode"] is None
    assert current["objectCount"] == "31"
    assert current["completedAt"]
    assert by_node["data"]["node"] == {"id": current["id"], "status": "COMPLETED"}
    assert download.status_code == 200
    lines = [json.loads(line) for line in download.text.splitlines()]
    assert len(lines) == 31
    assert lines[0] == {"id": customers[0]["admin_graphql_api_id"], "email": "b0@example.com"}
    assert lines[1] == {
        "id": order["admin_graphql_api_id"],
        "name": order["name"],
        "__parentId": customers[0]["admin_graphql_api_id"],
    }
    assert {line["id"] for line in lines if "email" in line} == {
        c["admin_graphql_api_id"] for c in customers
    }


def test_bulk_operations_run_five_at_once_and_each_is_polled_by_its_id(
    double: ShopifyDouble, http: requests.Session, token: str
) -> None:
    """Since 2026-01 a shop runs up to five bulk queries at once; a sixth is LIMIT_REACHED."""
    double.add_customer(SHOP, email="bulk@example.com")
    first = run_bulk(double, http, token, BULK_QUERY)["bulkOperation"]["id"]  # done at once
    double.bulk_delay = 30
    running = [run_bulk(double, http, token, BULK_QUERY) for _ in range(5)]
    sixth = run_bulk(double, http, token, BULK_QUERY)
    invalid = run_bulk(double, http, token, "{ shop { name } }")

    assert all(r["userErrors"] == [] for r in running)
    assert sixth == {
        "bulkOperation": None,
        "userErrors": [
            {
                "field": None,
                "message": "Bulk operations limit reached. Please try again later.",
                "code": "LIMIT_REACHED",
            }
        ],
    }
    assert invalid["userErrors"]
    assert bulk_by_id(double, http, token, first)["status"] == "COMPLETED"
    for started in running:
        polled = bulk_by_id(double, http, token, started["bulkOperation"]["id"])
        assert (polled["id"], polled["status"], polled["url"]) == (
            started["bulkOperation"]["id"],
            "RUNNING",
            None,
        )
    unknown = bulk_by_id(double, http, token, "gid://shopify/BulkOperation/1")
    assert unknown is None


def test_deprecated_current_bulk_operation_answers_the_latest_and_says_it_is_deprecated(
    double: ShopifyDouble, http: requests.Session, token: str
) -> None:
    """A deprecated field still answers on Shopify, naming itself in a response header; with
    several operations running, "the current one" is the latest, not necessarily yours."""
    ours = run_bulk(double, http, token, BULK_QUERY)["bulkOperation"]["id"]
    double.bulk_delay = 30
    other = run_bulk(double, http, token, BULK_QUERY)["bulkOperation"]["id"]

    response = gql(double, http, token, CURRENT_BULK)
    polled = gql(double, http, token, BULK_BY_ID, {"id": ours})

    assert response.json()["data"]["currentBulkOperation"] == {"id": other, "status": "RUNNING"}
    assert response.headers["X-Shopify-API-Deprecated-Reason"] == "QueryRoot.currentBulkOperation"
    assert "X-Shopify-API-Deprecated-Reason" not in polled.headers
    assert [c["deprecations"] for c in double.graphql_calls[-2:]] == [
        ["QueryRoot.currentBulkOperation"],
        [],
    ]


def test_deprecated_fields_and_input_fields_are_named_in_the_header(
    double: ShopifyDouble, http: requests.Session, token: str
) -> None:
    customer = double.add_customer(SHOP, email="old@example.com")
    email = gql(double, http, token, "{ customers(first: 1) { nodes { email } } }")
    data = discount_input("OLDSTYLE", customer["admin_graphql_api_id"])
    data["customerSelection"] = data.pop("context")
    selection = gql(double, http, token, CREATE_DISCOUNT, {"input": data})

    assert email.json()["data"]["customers"]["nodes"] == [{"email": "old@example.com"}]
    assert email.headers["X-Shopify-API-Deprecated-Reason"] == "Customer.email"
    assert selection.json()["data"]["discountCodeBasicCreate"]["userErrors"] == []
    assert (
        selection.headers["X-Shopify-API-Deprecated-Reason"]
        == "DiscountCodeBasicInput.customerSelection"
    )


def verify_webhook(body: bytes, header: str) -> bool:
    digest = hmac.new(API_SECRET.encode(), body, hashlib.sha256).digest()
    return hmac.compare_digest(base64.b64encode(digest).decode(), header)


def test_customer_webhook_is_signed_like_shopify(double: ShopifyDouble, receiver: Receiver) -> None:
    customer = double.add_customer(
        SHOP,
        first_name="Ada",
        email="ada@example.com",
        state="INVITED",
        tags=["a", "b"],
        notify=True,
    )

    [delivery] = receiver.received
    headers = delivery["headers"]
    assert verify_webhook(delivery["body"], headers["X-Shopify-Hmac-Sha256"])
    assert headers["X-Shopify-Topic"] == "customers/create"
    assert headers["X-Shopify-Shop-Domain"] == SHOP
    assert headers["X-Shopify-Api-Version"] == VERSION
    assert headers["X-Shopify-Webhook-Id"]
    assert headers["X-Shopify-Event-Id"]
    assert headers["X-Shopify-Triggered-At"].endswith("Z")
    assert headers["Content-Type"] == "application/json"
    payload = json.loads(delivery["body"])
    assert payload["id"] == customer["id"]
    assert payload["admin_graphql_api_id"] == customer["admin_graphql_api_id"]
    assert payload["state"] == "invited"
    assert payload["updated_at"] == customer["updated_at"]
    assert double.deliveries == [
        {
            "topic": "customers/create",
            "shop": SHOP,
            "webhook_id": headers["X-Shopify-Webhook-Id"],
            "event_id": headers["X-Shopify-Event-Id"],
            "status": 200,
            "payload": payload,
        }
    ]


REMOVED_IN_2025_01 = {"tags", "email_marketing_consent", "sms_marketing_consent"}


def test_customer_payloads_are_shaped_as_the_pinned_version_sends_them(
    double: ShopifyDouble, receiver: Receiver
) -> None:
    """Since 2025-01 no customer payload carries tags or marketing consent, an order's
    customer included; GraphQL still has the tags."""
    customer = double.add_customer(SHOP, email="tags@example.com", tags=["vip"], notify=True)
    double.update_customer(SHOP, customer["id"], first_name="Tagged", notify=True)
    order = double.add_order(SHOP, customer_id=customer["id"], notify_topics=("orders/paid",))
    other = double.add_customer(SHOP, email="gone@example.com")
    double.delete_customer(SHOP, other["id"], notify=True)

    bodies = {d["headers"]["X-Shopify-Topic"]: json.loads(d["body"]) for d in receiver.received}
    assert set(bodies) == {
        "customers/create",
        "customers/update",
        "orders/paid",
        "customers/delete",
    }
    for payload in (
        bodies["customers/create"],
        bodies["customers/update"],
        bodies["customers/delete"],
        bodies["orders/paid"]["customer"],
    ):
        assert REMOVED_IN_2025_01.isdisjoint(payload), payload
    assert bodies["orders/paid"]["id"] == order["id"]
    assert double.customers(SHOP)[0]["tags"] == ["vip"]


def test_sign_in_and_disable_send_account_topics_then_update(
    double: ShopifyDouble, receiver: Receiver
) -> None:
    customer = double.add_customer(SHOP, email="acct@example.com", state="DISABLED")

    enabled = double.sign_in_customer(SHOP, customer["id"])
    double.sign_in_customer(SHOP, customer["id"])  # a later sign-in changes nothing
    disabled = double.disable_customer(SHOP, customer["id"])

    sent = [(d["headers"]["X-Shopify-Topic"], json.loads(d["body"])) for d in receiver.received]
    assert [topic for topic, _ in sent] == [
        "customers/enable",
        "customers/update",
        "customers/disable",
        "customers/update",
    ]
    assert [body["state"] for _, body in sent] == ["enabled", "enabled", "disabled", "disabled"]
    assert customer["updated_at"] < enabled["updated_at"] < disabled["updated_at"]


def test_demo_activity_signs_a_guest_in_as_shopify_does(
    double: ShopifyDouble, receiver: Receiver
) -> None:
    guest = double.add_customer(SHOP, email="guest@example.com", state="DISABLED")
    stream = ActivityStream(double, SHOP)
    stream.rng = SimpleNamespace(choice=lambda ids: ids[0], random=lambda: 0.1)  # type: ignore[assignment]

    stream.customer_update()

    topics = [d["headers"]["X-Shopify-Topic"] for d in receiver.received]
    assert topics == ["customers/enable", "customers/update"]
    assert double.customers(SHOP)[0]["id"] == guest["id"]
    assert double.customers(SHOP)[0]["state"] == "ENABLED"


def test_an_update_can_leave_updated_at_alone_as_shopifys_one_time_update_did(
    double: ShopifyDouble, receiver: Receiver
) -> None:
    customer = double.add_customer(SHOP, email="quiet@example.com", state="DISABLED")

    quiet = double.update_customer(SHOP, customer["id"], state="ENABLED", touch=False)

    assert (quiet["state"], quiet["updated_at"]) == ("ENABLED", customer["updated_at"])
    assert receiver.received == []


def test_tampered_webhook_body_fails_verification(double: ShopifyDouble) -> None:
    body = json.dumps({"id": 1}).encode()
    headers = double.webhook_headers("customers/update", SHOP, body, webhook_id="fixed-id")

    assert headers["X-Shopify-Webhook-Id"] == "fixed-id"
    assert headers["X-Shopify-Hmac-Sha256"] == double.sign(body)
    assert verify_webhook(body, headers["X-Shopify-Hmac-Sha256"])
    assert not verify_webhook(body + b" ", headers["X-Shopify-Hmac-Sha256"])


def test_order_and_refund_webhooks(double: ShopifyDouble, receiver: Receiver) -> None:
    customer = double.add_customer(SHOP, email="buyer@example.com")
    order = double.add_order(
        SHOP,
        customer_id=customer["id"],
        total="12.34",
        notify_topics=("orders/create", "orders/paid"),
    )
    refund = double.refund_order(SHOP, order["id"], amount="2.34", notify=True)

    topics = [d["headers"]["X-Shopify-Topic"] for d in receiver.received]
    assert topics == ["orders/create", "orders/paid", "refunds/create"]
    order_body = json.loads(receiver.received[1]["body"])
    assert order_body["id"] == order["id"]
    assert order_body["total_price"] == "12.34"
    assert order_body["financial_status"] == "paid"
    assert order_body["customer"]["id"] == customer["id"]
    assert order_body["email"] == "buyer@example.com"
    assert order_body["line_items"]
    refund_body = json.loads(receiver.received[2]["body"])
    assert refund_body["id"] == refund["id"]
    assert refund_body["order_id"] == order["id"]
    assert refund_body["transactions"][0]["amount"] == "2.34"
    assert refund_body["transactions"][0]["kind"] == "refund"
    assert refund_body["transactions"][0]["status"] == "success"
    assert double.orders(SHOP)[0]["financial_status"] == "partially_refunded"


def test_cancel_and_delete_notify_the_app(double: ShopifyDouble, receiver: Receiver) -> None:
    buyer = double.add_customer(SHOP, email="buyer@example.com")
    browser = double.add_customer(SHOP, email="browser@example.com")
    order = double.add_order(SHOP, customer_id=buyer["id"])

    cancelled = double.cancel_order(SHOP, order["id"], notify=True)
    double.delete_customer(SHOP, browser["id"], notify=True)
    with pytest.raises(ValueError, match="existing orders"):
        double.delete_customer(SHOP, buyer["id"])

    assert cancelled["cancelled_at"]
    bodies = {d["headers"]["X-Shopify-Topic"]: json.loads(d["body"]) for d in receiver.received}
    assert bodies["orders/cancelled"]["cancelled_at"] == cancelled["cancelled_at"]
    assert bodies["customers/delete"]["id"] == browser["id"]
    assert [c["id"] for c in double.customers(SHOP)] == [buyer["id"]]


def test_webhook_sender_can_be_replaced(double: ShopifyDouble) -> None:
    sent: list[tuple[str, bytes, dict[str, str]]] = []

    class Accepted:
        status_code = 202

    def capture(url: str, body: bytes, headers: dict[str, str], timeout: float) -> Accepted:
        sent.append((url, body, headers))
        return Accepted()

    original, double.webhook_sender = double.webhook_sender, capture
    try:
        response = double.deliver_webhook("shop/redact", SHOP, b'{"shop_id": 1}', webhook_id="w-1")
    finally:
        double.webhook_sender = original

    assert response.status_code == 202
    [(url, body, headers)] = sent
    assert url == f"{double.app_url}/webhooks"
    assert headers["X-Shopify-Webhook-Id"] == "w-1"
    assert double.deliveries[-1]["status"] == 202


def test_compliance_payloads(double: ShopifyDouble) -> None:
    customer = double.add_customer(SHOP, email="gdpr@example.com")
    order = double.add_order(SHOP, customer_id=customer["id"])
    shop_id = double.shop(SHOP)["id"]

    request_body = double.compliance_payload("customers/data_request", SHOP, customer)
    redact = double.compliance_payload("customers/redact", SHOP, customer["id"])
    shop_redact = double.compliance_payload("shop/redact", SHOP)

    assert request_body["shop_id"] == shop_id
    assert request_body["shop_domain"] == SHOP
    assert request_body["customer"] == {
        "id": customer["id"],
        "email": "gdpr@example.com",
        "phone": None,
    }
    assert request_body["orders_requested"] == [order["id"]]
    assert "id" in request_body["data_request"]
    assert redact["orders_to_redact"] == [order["id"]]
    assert shop_redact == {"shop_id": shop_id, "shop_domain": SHOP}


def test_uninstall_revokes_tokens_and_notifies(
    double: ShopifyDouble, http: requests.Session, token: str, receiver: Receiver
) -> None:
    double.uninstall_app(SHOP)

    assert gql(double, http, token, "{ shop { name } }").status_code == 401
    [delivery] = receiver.received
    assert delivery["headers"]["X-Shopify-Topic"] == "app/uninstalled"
    assert json.loads(delivery["body"])["myshopify_domain"] == SHOP


def test_proxy_signature_is_verifiable(double: ShopifyDouble) -> None:
    query = double.proxy_query(
        SHOP, params={"ref": "ABC123", "ids": ["1", "2"]}, logged_in_customer_id=77, timestamp=1700
    )

    received = query.pop("signature")
    pairs = sorted(f"{k}={','.join(v) if isinstance(v, list) else v}" for k, v in query.items())
    expected = hmac.new(API_SECRET.encode(), "".join(pairs).encode(), hashlib.sha256).hexdigest()
    assert hmac.compare_digest(received, expected)
    assert query["shop"] == SHOP
    assert query["path_prefix"] == "/apps/referrals"
    assert query["timestamp"] == "1700"
    assert query["logged_in_customer_id"] == "77"
    assert query["ids"] == ["1", "2"]
