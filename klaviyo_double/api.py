"""The double's `/api` endpoints in Klaviyo's JSON:API wire format.

Every request is checked as Klaviyo checks it: a known `revision` header (400 without one),
`Authorization: Klaviyo-API-Key pk_…` (401), the endpoint's rate limits (429 with
`Retry-After`), the key's scopes (403), then a JSON:API body of the right `type` within the
endpoint's size limits (400/413). Errors are `{"errors": [{id, status, code, title, detail,
source}]}`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Response, current_app, request

from .errors import (
    JSON_API,
    ApiError,
    data_of,
    error_response,
    event_fields,
    profile_attributes,
    raise_throttled,
)
from .limits import XL, XS, L, M, S, Tier
from .state import Account, BulkJob, new_id

if TYPE_CHECKING:
    from .server import KlaviyoDouble

bp = Blueprint("klaviyo_api", __name__, url_prefix="/api")
#: revisions the double answers (Klaviyo's quarterly GA revisions the app may pin).
REVISIONS = frozenset(
    f"{year}-{month}-15" for year in (2024, 2025, 2026) for month in ("01", "04", "07", "10")
)
#: Klaviyo's payload limit for the bulk endpoints, and their entry limits.
MAX_BULK_BYTES = 5 * 1024 * 1024
MAX_PROFILES_PER_IMPORT = 10_000
MAX_EVENTS_PER_BULK = 1_000


def _double() -> KlaviyoDouble:
    return current_app.extensions["klaviyo_double"]


#: endpoint → (rate-limit tier, scopes it needs), as Klaviyo's reference lists them.
ENDPOINTS: dict[str, tuple[Tier, tuple[str, ...]]] = {
    "klaviyo_api.get_accounts": (XS, ("accounts:read",)),
    "klaviyo_api.create_profile_import_job": (M, ("lists:write", "profiles:write")),
    "klaviyo_api.get_profile_import_job": (M, ("lists:read", "profiles:read")),
    "klaviyo_api.import_profile": (L, ("profiles:write",)),
    "klaviyo_api.create_event": (XL, ("events:write",)),
    "klaviyo_api.create_event_bulk_job": (M, ("events:write",)),
    "klaviyo_api.get_event_bulk_job": (L, ("events:read",)),
    "klaviyo_api.request_profile_deletion": (S, ("data-privacy:write",)),
}
#: a write scope includes its read scope (Klaviyo: full access implies read access).
IMPLIED = {
    "lists:read": "lists:write",
    "events:read": "events:write",
    "profiles:read": "profiles:write",
}


@bp.before_request
def check_request() -> Response | None:
    double = _double()
    try:
        fault = double.take_fault()
        if fault is not None:
            status, retry_after = fault
            if status == 429:
                raise_throttled(retry_after)
            raise ApiError(503, "service_unavailable", "Service unavailable.", "Try again later.")
        revision = request.headers.get("revision")
        if not revision:
            raise ApiError(
                400,
                "invalid",
                "Invalid input.",
                "The 'revision' header is required.",
                "/headers/revision",
            )
        if revision not in REVISIONS:
            raise ApiError(
                400,
                "invalid",
                "Invalid input.",
                f"'{revision}' is not a valid revision.",
                "/headers/revision",
            )
        scheme, _, key = request.headers.get("Authorization", "").partition(" ")
        if scheme != "Klaviyo-API-Key" or not key:
            raise ApiError(
                401,
                "not_authenticated",
                "Authentication credentials were not provided.",
                "Missing or invalid authorization scheme. Please use Klaviyo-API-Key.",
            )
        stored = double.key(key.strip())
        if stored is None:
            raise ApiError(
                401,
                "authentication_failed",
                "Incorrect authentication credentials.",
                "Incorrect authentication credentials.",
            )
        endpoint = (request.endpoint or "").removesuffix("_bare")
        tier, scopes = ENDPOINTS.get(endpoint, (L, ()))
        verdict = double.limiter.check(stored.account_id, endpoint, tier)
        if not verdict.allowed:
            raise_throttled(verdict.retry_after)
        request.environ["klaviyo.limit"] = verdict
        missing = [
            scope
            for scope in scopes
            if scope not in stored.scopes and IMPLIED.get(scope) not in stored.scopes
        ]
        if missing:
            raise ApiError(
                403,
                "permission_denied",
                "You do not have permission to perform this action.",
                f"This API key is missing the required scope: {', '.join(missing)}.",
            )
        if request.method == "POST":
            kind = (request.mimetype or "").lower()
            if kind not in (JSON_API, "application/json"):
                raise ApiError(
                    415,
                    "unsupported_media_type",
                    "Unsupported media type.",
                    f'Unsupported media type "{request.mimetype}" in request.',
                )
            if (request.content_length or 0) > MAX_BULK_BYTES:
                raise ApiError(
                    413, "payload_too_large", "Payload too large.", "The payload exceeds 5 MB."
                )
        request.environ["klaviyo.account"] = double.account(stored.account_id)
    except ApiError as error:
        return error_response(error)
    return None


@bp.after_request
def rate_limit_headers(response: Response) -> Response:
    verdict = request.environ.get("klaviyo.limit")
    if verdict is not None and response.status_code != 429:
        response.headers["RateLimit-Limit"] = str(verdict.limit)
        response.headers["RateLimit-Remaining"] = str(verdict.remaining)
        response.headers["RateLimit-Reset"] = str(verdict.reset)
    return response


@bp.errorhandler(ApiError)
def api_error(error: ApiError) -> Response:
    return error_response(error)


def _account() -> Account:
    return request.environ["klaviyo.account"]


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type=JSON_API)


def _locked(fn: Callable[[], Response]) -> Response:
    with _double().lock:
        return fn()


@bp.get("/accounts/")
@bp.get("/accounts", endpoint="get_accounts_bare")
def get_accounts() -> Response:
    account = _account()
    return _json(
        {
            "data": [
                {
                    "type": "account",
                    "id": account.id,
                    "attributes": {
                        "contact_information": {"organization_name": account.name},
                        "timezone": "UTC",
                        "preferred_currency": "USD",
                    },
                }
            ]
        }
    )


@bp.post("/profile-bulk-import-jobs/")
@bp.post("/profile-bulk-import-jobs", endpoint="create_profile_import_job_bare")
def create_profile_import_job() -> Response:
    attributes = data_of("profile-bulk-import-job")
    entries = ((attributes.get("profiles") or {}).get("data")) or []
    if not isinstance(entries, list) or not entries:
        raise ApiError(
            400, "invalid", "Invalid input.", "'profiles' is required.", "/data/attributes/profiles"
        )
    if len(entries) > MAX_PROFILES_PER_IMPORT:
        raise ApiError(
            400,
            "invalid",
            "Invalid input.",
            f"A job accepts at most {MAX_PROFILES_PER_IMPORT:,} profiles.",
            "/data/attributes/profiles/data",
        )

    def run() -> Response:
        account = _account()
        job = BulkJob(new_id(), "profile-bulk-import-job", total=len(entries))
        for n, entry in enumerate(entries):
            try:
                profile = profile_attributes(entry, f"/data/attributes/profiles/data/{n}")
            except ApiError:
                job.failed += 1
                continue
            account.upsert_profile(profile)
            job.completed += 1
        account.count("profile", len(entries))
        account.count("profile_import_job")
        account.jobs[job.id] = job
        return _json({"data": job.resource()}, 202)

    return _locked(run)


@bp.get("/profile-bulk-import-jobs/<job_id>/")
@bp.get("/profile-bulk-import-jobs/<job_id>", endpoint="get_profile_import_job_bare")
def get_profile_import_job(job_id: str) -> Response:
    return _job(job_id, "profile-bulk-import-job")


def _job(job_id: str, kind: str) -> Response:
    def run() -> Response:
        job = _account().jobs.get(job_id)
        if job is None or job.type != kind:
            raise ApiError(404, "not_found", "Not found.", f"No {kind} with id {job_id}.")
        job.polls_until_complete -= 1
        return _json({"data": job.resource()})

    return _locked(run)


@bp.post("/profile-import/")
@bp.post("/profile-import", endpoint="import_profile_bare")
def import_profile() -> Response:
    attributes = data_of("profile")
    profile_attributes({"type": "profile", "attributes": attributes}, "/data")

    def run() -> Response:
        account = _account()
        profile, created = account.upsert_profile(attributes)
        account.count("profile")
        body = {
            "data": {
                "type": "profile",
                "id": profile.id,
                "attributes": {
                    "email": profile.email,
                    **profile.attributes,
                    "properties": profile.properties,
                },
            }
        }
        return _json(body, 201 if created else 200)

    return _locked(run)


@bp.post("/events/")
@bp.post("/events", endpoint="create_event_bare")
def create_event() -> Response:
    attributes = data_of("event")
    metric, properties = event_fields(attributes, "/data/attributes")
    profile = profile_attributes(
        (attributes.get("profile") or {}).get("data"), "/data/attributes/profile/data"
    )

    def run() -> Response:
        account = _account()
        account.upsert_profile(profile)
        account.add_event(
            metric,
            profile["email"],
            properties,
            str(attributes.get("time") or ""),
            str(attributes.get("unique_id") or new_id()),
        )
        return Response(status=202)

    return _locked(run)


@bp.post("/event-bulk-create-jobs/")
@bp.post("/event-bulk-create-jobs", endpoint="create_event_bulk_job_bare")
def create_event_bulk_job() -> Response:
    attributes = data_of("event-bulk-create-job")
    groups = ((attributes.get("events-bulk-create") or {}).get("data")) or []
    if not isinstance(groups, list) or not groups:
        raise ApiError(
            400,
            "invalid",
            "Invalid input.",
            "'events-bulk-create' is required.",
            "/data/attributes/events-bulk-create",
        )
    checked: list[tuple[dict[str, Any], list[tuple[str, dict[str, Any], dict[str, Any]]]]] = []
    total = 0
    for n, group in enumerate(groups):
        pointer = f"/data/attributes/events-bulk-create/data/{n}"
        if not isinstance(group, dict) or group.get("type") != "event-bulk-create":
            raise ApiError(400, "invalid", "Invalid input.", "An event-bulk-create entry.", pointer)
        body = group.get("attributes") or {}
        profile = profile_attributes(
            (body.get("profile") or {}).get("data"), pointer + "/attributes/profile/data"
        )
        events = []
        for m, entry in enumerate(((body.get("events") or {}).get("data")) or []):
            event_pointer = f"{pointer}/attributes/events/data/{m}"
            if not isinstance(entry, dict) or entry.get("type") != "event":
                raise ApiError(400, "invalid", "Invalid input.", "An event.", event_pointer)
            event_attributes = entry.get("attributes") or {}
            metric, properties = event_fields(event_attributes, event_pointer + "/attributes")
            events.append((metric, properties, event_attributes))
        total += len(events)
        checked.append((profile, events))
    if total > MAX_EVENTS_PER_BULK:
        raise ApiError(
            400,
            "invalid",
            "Invalid input.",
            f"A job accepts at most {MAX_EVENTS_PER_BULK:,} events.",
            "/data/attributes/events-bulk-create/data",
        )

    def run() -> Response:
        account = _account()
        job = BulkJob(new_id(), "event-bulk-create-job", total=total)
        for profile, events in checked:
            account.upsert_profile(profile)
            for metric, properties, event_attributes in events:
                account.add_event(
                    metric,
                    profile["email"],
                    properties,
                    str(event_attributes.get("time") or ""),
                    str(event_attributes.get("unique_id") or new_id()),
                )
                job.completed += 1
        account.count("event_bulk_job")
        account.jobs[job.id] = job
        return _json({"data": job.resource()}, 202)

    return _locked(run)


@bp.get("/event-bulk-create-jobs/<job_id>/")
@bp.get("/event-bulk-create-jobs/<job_id>", endpoint="get_event_bulk_job_bare")
def get_event_bulk_job(job_id: str) -> Response:
    return _job(job_id, "event-bulk-create-job")


#: the identifiers a data-privacy deletion may name; exactly one of them.
DELETION_IDENTIFIERS = ("email", "phone_number", "id")


@bp.post("/data-privacy-deletion-jobs/")
@bp.post("/data-privacy-deletion-jobs", endpoint="request_profile_deletion_bare")
def request_profile_deletion() -> Response:
    """Delete the profiles one identifier matches: 202 with no body (Klaviyo deletes
    asynchronously; the double at once, so a test sees the profile gone)."""
    attributes = data_of("data-privacy-deletion-job")
    pointer = "/data/attributes/profile/data"
    profile = (attributes.get("profile") or {}).get("data")
    if not isinstance(profile, dict) or profile.get("type") != "profile":
        raise ApiError(400, "invalid", "Invalid input.", "A profile is expected.", pointer)
    identifiers = profile.get("attributes") or {}
    if not isinstance(identifiers, dict):
        raise ApiError(400, "invalid", "Invalid input.", "'attributes' is invalid.", pointer)
    given = {**identifiers, "id": profile.get("id")}
    named = {k: given[k] for k in DELETION_IDENTIFIERS if given.get(k) not in (None, "")}
    if len(named) != 1:
        raise ApiError(
            400,
            "invalid",
            "Invalid input.",
            "Exactly one of email, phone_number or id is required."
            if not named
            else "Only one identifier may be provided.",
            pointer + "/attributes",
        )
    field, value = next(iter(named.items()))
    if not isinstance(value, str) or (field == "email" and "@" not in value):
        raise ApiError(
            400,
            "invalid",
            "Invalid input.",
            f"'{field}' is not valid.",
            f"{pointer}/attributes/{field}",
        )

    def run() -> Response:
        account = _account()
        account.delete_profiles(field, value)
        account.count("data_privacy_deletion_job")
        return Response(status=202)

    return _locked(run)
