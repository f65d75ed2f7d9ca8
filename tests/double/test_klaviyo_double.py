"""The Klaviyo double answers as Klaviyo does: headers, keys, scopes, limits, dedupe, faults."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
import requests

from klaviyo_double import DEMO_KEY, KlaviyoDouble

KEY = "pk_double_0123456789abcdef0123456789ab"
JSON_API = "application/vnd.api+json"


@pytest.fixture(scope="module")
def server() -> Iterator[KlaviyoDouble]:
    double = KlaviyoDouble()
    double.start()
    yield double
    double.stop()


@pytest.fixture
def double(server: KlaviyoDouble) -> Iterator[KlaviyoDouble]:
    server.reset()
    server.add_key(KEY)
    yield server
    server.reset()


def call(double, method, path, body=None, *, key=KEY, revision="2026-10-15", **headers):
    sent = {"accept": JSON_API, "content-type": JSON_API, **headers}
    if key is not None:
        sent["Authorization"] = f"Klaviyo-API-Key {key}"
    if revision is not None:
        sent["revision"] = revision
    data = body if isinstance(body, (bytes, str)) or body is None else json.dumps(body)
    return requests.request(method, double.base_url + path, data=data, headers=sent, timeout=5)


def profile(email, **properties):
    return {"type": "profile", "attributes": {"email": email, "properties": properties}}


def import_job(profiles):
    return {
        "data": {"type": "profile-bulk-import-job", "attributes": {"profiles": {"data": profiles}}}
    }


def event_job(*emails, unique_id="u1", metric="Joined Referral Program"):
    groups = [
        {
            "type": "event-bulk-create",
            "attributes": {
                "profile": {"data": {"type": "profile", "attributes": {"email": email}}},
                "events": {
                    "data": [
                        {
                            "type": "event",
                            "attributes": {
                                "metric": {
                                    "data": {"type": "metric", "attributes": {"name": metric}}
                                },
                                "properties": {"n": n},
                                "time": "2026-12-03T10:00:00+00:00",
                                "unique_id": f"{unique_id}-{email}",
                            },
                        }
                    ]
                },
            },
        }
        for n, email in enumerate(emails)
    ]
    return {
        "data": {
            "type": "event-bulk-create-job",
            "attributes": {"events-bulk-create": {"data": groups}},
        }
    }


def error_of(response):
    (error,) = response.json()["errors"]
    assert set(error) == {"id", "status", "code", "title", "detail", "source"}
    return error


@pytest.mark.parametrize("revision", [None, "2019-01-01", "latest"])
def test_a_missing_or_unknown_revision_is_a_400(double, revision):
    response = call(double, "GET", "/api/accounts/", revision=revision)
    assert response.status_code == 400
    assert error_of(response)["source"]["pointer"] == "/headers/revision"


def test_the_accounts_endpoint_checks_the_key(double):
    good = call(double, "GET", "/api/accounts/")
    assert good.status_code == 200 and good.headers["Content-Type"] == JSON_API
    assert good.json()["data"][0]["attributes"]["contact_information"]["organization_name"] == (
        "Test Store"
    )
    assert good.headers["RateLimit-Limit"] == "15"
    wrong = call(double, "GET", "/api/accounts/", key="pk_wrong_000000000000000000000")
    assert wrong.status_code == 401 and error_of(wrong)["code"] == "authentication_failed"
    none = call(double, "GET", "/api/accounts/", key=None)
    assert none.status_code == 401 and error_of(none)["code"] == "not_authenticated"


def test_a_key_without_the_scope_is_a_403(double):
    double.add_key(
        "pk_events_only_000000000000000000", account="Other", scopes=frozenset({"events:write"})
    )
    response = call(double, "GET", "/api/accounts/", key="pk_events_only_000000000000000000")
    assert response.status_code == 403
    assert error_of(response)["code"] == "permission_denied"
    assert "accounts:read" in error_of(response)["detail"]


def test_profile_import_job_merges_properties_and_reports_its_status(double):
    first = call(
        double,
        "POST",
        "/api/profile-bulk-import-jobs/",
        import_job([profile("A@x.com", points=1, code="A")]),
    )
    assert first.status_code == 202
    job = first.json()["data"]
    assert job["type"] == "profile-bulk-import-job" and job["attributes"]["status"] == "queued"
    call(
        double, "POST", "/api/profile-bulk-import-jobs/", import_job([profile("a@x.com", points=5)])
    )
    assert double.profiles(KEY)["a@x.com"].properties == {"points": 5, "code": "A"}
    status = call(double, "GET", f"/api/profile-bulk-import-jobs/{job['id']}/")
    assert status.json()["data"]["attributes"]["status"] == "complete"
    assert status.json()["data"]["attributes"]["completed_count"] == 1


def test_bulk_limits_are_klaviyos(double):
    too_many = [profile(f"p{n}@x.com") for n in range(10_001)]
    response = call(double, "POST", "/api/profile-bulk-import-jobs/", import_job(too_many))
    assert response.status_code in (400, 413)
    huge = [profile(f"p{n}@x.com", blob="x" * 600) for n in range(9_000)]
    response = call(double, "POST", "/api/profile-bulk-import-jobs/", import_job(huge))
    assert response.status_code == 413 and error_of(response)["code"] == "payload_too_large"
    events = call(
        double,
        "POST",
        "/api/event-bulk-create-jobs/",
        event_job(*[f"e{n}@x.com" for n in range(1_001)]),
    )
    assert events.status_code == 400 and "1,000" in error_of(events)["detail"]
    assert double.profiles(KEY) == {}


def test_wrong_type_or_media_type_is_refused(double):
    wrong = call(
        double,
        "POST",
        "/api/profile-bulk-import-jobs/",
        {"data": {"type": "profile", "attributes": {}}},
    )
    assert wrong.status_code == 409 and error_of(wrong)["source"]["pointer"] == "/data/type"
    form = call(
        double,
        "POST",
        "/api/events/",
        "a=b",
        **{"content-type": "application/x-www-form-urlencoded"},
    )
    assert form.status_code == 415


def test_events_are_deduplicated_on_unique_id(double):
    assert (
        call(
            double, "POST", "/api/event-bulk-create-jobs/", event_job("a@x.com", "b@x.com")
        ).status_code
        == 202
    )
    assert (
        call(double, "POST", "/api/event-bulk-create-jobs/", event_job("a@x.com")).status_code
        == 202
    )
    single = {
        "data": {
            "type": "event",
            "attributes": {
                "metric": {
                    "data": {"type": "metric", "attributes": {"name": "Joined Referral Program"}}
                },
                "profile": {"data": {"type": "profile", "attributes": {"email": "b@x.com"}}},
                "properties": {},
                "unique_id": "u1-b@x.com",
            },
        }
    }
    assert call(double, "POST", "/api/events/", single).status_code == 202
    assert [e.email for e in double.events(KEY)] == ["a@x.com", "b@x.com"]
    assert double.received(KEY)["duplicate_events"] == 2


class Clock:
    """The limiter's clock, moved by hand: windows are tested without waiting for them."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(double) -> Iterator[Clock]:
    clock = Clock(60 * 1000 + 0.5)
    previous = double.limiter.clock
    double.limiter.clock = clock
    yield clock
    double.limiter.clock = previous


def test_burst_limit_answers_429_with_retry_after(double, clock):
    # Get Accounts is XS: 1 a second, 15 a minute.
    assert call(double, "GET", "/api/accounts/").status_code == 200
    refused = call(double, "GET", "/api/accounts/")
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "1"
    assert error_of(refused)["code"] == "throttled"
    assert "RateLimit-Remaining" not in refused.headers
    clock.now += 1
    assert call(double, "GET", "/api/accounts/").status_code == 200


def test_the_steady_window_refuses_until_the_minute_resets(double, clock):
    for n in range(15):
        response = call(double, "GET", "/api/accounts/")
        assert response.status_code == 200, n
        assert response.headers["RateLimit-Remaining"] == str(14 - n)
        clock.now += 1
    refused = call(double, "GET", "/api/accounts/")
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "45"
    clock.now += 45
    assert call(double, "GET", "/api/accounts/").status_code == 200


def test_limits_are_per_endpoint_and_per_account(double, clock):
    double.add_key("pk_other_account_00000000000000000", account="Other")
    assert call(double, "GET", "/api/accounts/").status_code == 200
    assert (
        call(double, "GET", "/api/accounts/", key="pk_other_account_00000000000000000").status_code
        == 200
    )
    body = import_job([profile("a@x.com")])
    assert call(double, "POST", "/api/profile-bulk-import-jobs/", body).status_code == 202


def test_faults_outage_storm_and_refused_connections(double):
    double.fail_next(429, n=1, retry_after=7)
    storm = call(double, "GET", "/api/accounts/")
    assert storm.status_code == 429 and storm.headers["Retry-After"] == "7"
    double.fail_for(0.5, 503)
    assert call(double, "GET", "/api/accounts/").status_code == 503
    time.sleep(0.6)
    assert call(double, "GET", "/api/accounts/").status_code == 200
    double.go_down()
    with pytest.raises(requests.ConnectionError):
        call(double, "GET", "/api/accounts/")
    double.come_up()
    time.sleep(1.1)
    assert call(double, "GET", "/api/accounts/").status_code == 200


def test_the_events_page_shows_what_arrived(double):
    call(double, "POST", "/api/event-bulk-create-jobs/", event_job("shown@x.com"))
    page = requests.get(double.base_url + "/", timeout=5).text
    assert "shown@x.com" in page and "Joined Referral Program" in page
    assert DEMO_KEY in page


def test_the_profile_import_needs_both_its_scopes(double):
    key = "pk_profiles_only_00000000000000000"
    double.add_key(key, account="Partial", scopes=frozenset({"accounts:read", "profiles:write"}))
    body = import_job([profile("a@x.com")])
    response = call(double, "POST", "/api/profile-bulk-import-jobs/", body, key=key)
    assert response.status_code == 403 and "lists:write" in error_of(response)["detail"]


def deletion_job(**identifiers):
    profile = {"type": "profile", "attributes": identifiers}
    return {
        "data": {"type": "data-privacy-deletion-job", "attributes": {"profile": {"data": profile}}}
    }


def test_a_deletion_job_removes_the_profile_and_its_events_and_the_page_says_so(double):
    call(double, "POST", "/api/event-bulk-create-jobs/", event_job("gone@x.com", "kept@x.com"))
    response = call(
        double, "POST", "/api/data-privacy-deletion-jobs/", deletion_job(email="GONE@x.com")
    )
    assert response.status_code == 202 and response.content == b""
    assert set(double.profiles(KEY)) == {"kept@x.com"}
    assert [e.email for e in double.events(KEY)] == ["kept@x.com"]
    [deletion] = double.deletions(KEY)
    assert (deletion.identifier, deletion.profiles, deletion.events) == ("gone@x.com", 1, 1)
    page = requests.get(double.base_url + "/", timeout=5).text
    section = page.split("<h2>Test Store</h2>")[1].split("<h2>")[0]
    profiles, deleted = section.split("<h3>Latest profiles</h3>")[1].split("<h3>Deleted profiles")
    assert "gone@x.com" not in profiles and "kept@x.com" in profiles
    assert "gone@x.com" in deleted


@pytest.mark.parametrize(
    "body, pointer",
    [
        (deletion_job(), "/data/attributes/profile/data/attributes"),
        (
            deletion_job(email="a@x.com", phone_number="+15005550006"),
            "/data/attributes/profile/data/attributes",
        ),
        (deletion_job(email="not-an-email"), "/data/attributes/profile/data/attributes/email"),
        (
            {"data": {"type": "data-privacy-deletion-job", "attributes": {"profile": {}}}},
            "/data/attributes/profile/data",
        ),
    ],
)
def test_a_deletion_job_names_exactly_one_valid_identifier(double, body, pointer):
    response = call(double, "POST", "/api/data-privacy-deletion-jobs/", body)
    assert response.status_code == 400
    assert error_of(response)["source"]["pointer"] == pointer
    assert double.deletions(KEY) == []


def test_a_deletion_job_of_the_wrong_type_is_a_409(double):
    body = deletion_job(email="a@x.com")
    body["data"]["type"] = "profile"
    assert call(double, "POST", "/api/data-privacy-deletion-jobs/", body).status_code == 409


def test_a_deletion_job_needs_the_data_privacy_scope(double):
    key = "pk_no_privacy_000000000000000000000"
    double.add_key(key, account="Partial", scopes=frozenset({"accounts:read", "profiles:write"}))
    response = call(
        double, "POST", "/api/data-privacy-deletion-jobs/", deletion_job(email="a@x.com"), key=key
    )
    assert response.status_code == 403 and "data-privacy:write" in error_of(response)["detail"]


def test_deletion_jobs_have_their_own_rate_limit(double, clock):
    # Request Profile Deletion is tier S: 3 a second, 60 a minute, apart from other endpoints.
    for n in range(3):
        body = deletion_job(email=f"p{n}@x.com")
        assert call(double, "POST", "/api/data-privacy-deletion-jobs/", body).status_code == 202
    refused = call(
        double, "POST", "/api/data-privacy-deletion-jobs/", deletion_job(email="p3@x.com")
    )
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "1"
    assert call(double, "GET", "/api/accounts/").status_code == 200
    clock.now += 1
    body = deletion_job(email="p3@x.com")
    assert call(double, "POST", "/api/data-privacy-deletion-jobs/", body).status_code == 202
