"""The Mailchimp double speaks Mailchimp's wire format, limits and errors (plain HTTP, no app)."""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from mailchimp_double import MailchimpDouble
from mailchimp_double.demo import seed_demo


@pytest.fixture(scope="module")
def double() -> Iterator[MailchimpDouble]:
    server = MailchimpDouble("cid", "csecret")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def mc(double: MailchimpDouble) -> Iterator[MailchimpDouble]:
    double.reset()
    yield double
    double.reset()


def _basic(key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"anystring:{key}".encode()).decode()}


def test_oauth_code_grant_token_and_metadata(mc):
    mc.add_account("acme", dc="us19", name="Acme Inc")
    redirect = "http://app.example/mailchimp/callback"
    answer = requests.get(
        mc.base_url + "/oauth2/authorize",
        params={
            "response_type": "code",
            "client_id": "cid",
            "redirect_uri": redirect,
            "state": "s1",
        },
        allow_redirects=False,
        timeout=5,
    )
    assert answer.status_code == 302
    back = parse_qs(urlsplit(answer.headers["Location"]).query)
    assert back["state"] == ["s1"]
    form = {
        "grant_type": "authorization_code",
        "client_id": "cid",
        "client_secret": "csecret",
        "redirect_uri": redirect,
        "code": back["code"][0],
    }
    token = requests.post(mc.base_url + "/oauth2/token", data=form, timeout=5)
    assert token.status_code == 200
    body = token.json()
    assert body["expires_in"] == 0 and body["scope"] is None
    # A code works once.
    assert requests.post(mc.base_url + "/oauth2/token", data=form, timeout=5).json()["error"] == (
        "invalid_grant"
    )
    meta = requests.get(
        mc.base_url + "/oauth2/metadata",
        headers={"Authorization": f"OAuth {body['access_token']}"},
        timeout=5,
    ).json()
    assert (meta["dc"], meta["accountname"]) == ("us19", "Acme Inc")
    assert meta["api_endpoint"] == f"{mc.base_url}/us19"
    ping = requests.get(
        meta["api_endpoint"] + "/3.0/ping",
        headers={"Authorization": f"Bearer {body['access_token']}"},
        timeout=5,
    )
    assert ping.json() == {"health_status": "Everything's Chimpy!"}


def test_wrong_secret_and_the_allow_page(mc):
    mc.add_account("acme")
    bad = requests.post(
        mc.base_url + "/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "client_id": "cid",
            "client_secret": "no",
            "code": "x",
            "redirect_uri": "r",
        },
        timeout=5,
    )
    assert bad.status_code == 401 and bad.json()["error"] == "invalid_client"
    mc.auto_approve = False
    try:
        page = requests.get(
            mc.base_url + "/oauth2/authorize",
            params={"response_type": "code", "client_id": "cid", "redirect_uri": "http://a/cb"},
            timeout=5,
        )
        assert page.status_code == 200 and "Allow" in page.text
    finally:
        mc.auto_approve = True


def test_api_keys_name_their_data_center(mc):
    key = mc.add_account("acme", dc="us6")
    ok = requests.get(f"{mc.base_url}/us6/3.0/ping", headers=_basic(key), timeout=5)
    assert ok.status_code == 200
    wrong_dc = requests.get(f"{mc.base_url}/us1/3.0/ping", headers=_basic(key), timeout=5)
    assert wrong_dc.status_code == 401
    assert wrong_dc.headers["Content-Type"] == "application/problem+json"
    problem = wrong_dc.json()
    assert problem["title"] == "API Key Invalid" and "wrong datacenter" in problem["detail"]
    assert set(problem) == {"type", "title", "status", "detail", "instance"}
    unknown = requests.get(f"{mc.base_url}/us6/3.0/ping", headers=_basic("nope-us6"), timeout=5)
    assert unknown.status_code == 401


def test_lists_and_members_with_paging_filters_and_fields(mc):
    key = seed_demo(mc)
    headers = _basic(key)
    api = f"{mc.base_url}/us6/3.0"
    lists = requests.get(api + "/lists", headers=headers, timeout=5).json()
    assert lists["total_items"] == 2
    newsletter = next(a for a in lists["lists"] if a["name"] == "Newsletter")
    stats = newsletter["stats"]
    assert stats["member_count"] > 1000 and stats["unsubscribe_count"] > 0
    assert stats["cleaned_count"] > 0
    page = requests.get(
        f"{api}/lists/{newsletter['id']}/members",
        params={
            "count": 1000,
            "offset": 1000,
            "status": "subscribed",
            "fields": "members.email_address,members.merge_fields.FNAME,total_items",
        },
        headers=headers,
        timeout=5,
    ).json()
    assert page["total_items"] == stats["member_count"]
    assert len(page["members"]) == stats["member_count"] - 1000
    assert set(page["members"][0]) == {"email_address", "merge_fields"}
    assert set(page["members"][0]["merge_fields"]) == {"FNAME"}
    full = requests.get(
        f"{api}/lists/{newsletter['id']}/members", params={"count": 1}, headers=headers, timeout=5
    ).json()["members"][0]
    assert full["id"] == mc.member_id(full["email_address"])
    assert {"status", "language", "merge_fields", "list_id"} <= set(full)
    too_many = requests.get(
        f"{api}/lists/{newsletter['id']}/members",
        params={"count": 1001},
        headers=headers,
        timeout=5,
    )
    assert too_many.status_code == 400
    missing = requests.get(f"{api}/lists/nope", headers=headers, timeout=5)
    assert missing.status_code == 404


def test_faults_bare_403_429_5xx_and_revoked_tokens(mc):
    mc.add_account("acme")
    token = mc.issue_token("acme")
    headers = {"Authorization": f"Bearer {token}"}
    url = f"{mc.base_url}/us6/3.0/ping"
    mc.heavy_load(1)
    bare = requests.get(url, headers=headers, timeout=5)
    assert bare.status_code == 403 and bare.content == b""
    mc.too_many_requests(1)
    limited = requests.get(url, headers=headers, timeout=5)
    assert limited.status_code == 429 and limited.json()["title"] == "Too Many Requests"
    assert not any(h.lower().startswith("x-ratelimit") for h in limited.headers)
    mc.server_errors(1, status=502)
    assert requests.get(url, headers=headers, timeout=5).status_code == 502
    assert requests.get(url, headers=headers, timeout=5).status_code == 200
    mc.revoke_tokens("acme")
    revoked = requests.get(url, headers=headers, timeout=5)
    assert revoked.status_code == 401 and revoked.json()["title"] == "API Key Invalid"


def test_the_eleventh_connection_gets_429(mc):
    mc.add_account("acme")
    token = mc.issue_token("acme")
    mc.set_latency(0.5)
    statuses: list[int] = []
    lock = threading.Lock()

    def call() -> None:
        answer = requests.get(
            f"{mc.base_url}/us6/3.0/ping", headers={"Authorization": f"Bearer {token}"}, timeout=5
        )
        with lock:
            statuses.append(answer.status_code)

    threads = [threading.Thread(target=call) for _ in range(11)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] * 10 + [429]
    assert mc.max_in_flight == 10


def test_a_dropped_connection_mid_paging(mc):
    key = mc.add_account("acme")
    list_id = mc.add_audience("acme", "Big")
    mc.generate_members("acme", list_id, 3000)
    url = f"{mc.base_url}/us6/3.0/lists/{list_id}/members"
    mc.drop_connections(after_pages=1)
    first = requests.get(url, params={"count": 1000}, headers=_basic(key), timeout=5)
    assert first.status_code == 200
    with pytest.raises(requests.ConnectionError):
        requests.get(url, params={"count": 1000, "offset": 1000}, headers=_basic(key), timeout=5)
    again = requests.get(
        url, params={"count": 1000, "offset": 1000}, headers=_basic(key), timeout=5
    )
    assert len(again.json()["members"]) == 1000
