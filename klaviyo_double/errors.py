"""Klaviyo's error answers (`{"errors": [{id, status, code, title, detail, source}]}`) and
the checks of a JSON:API request body that produce them."""

from __future__ import annotations

import json
import uuid
from typing import Any

from flask import Response, request

JSON_API = "application/vnd.api+json"


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        title: str,
        detail: str,
        pointer: str | None = None,
        *,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(detail)
        self.status, self.code, self.title, self.detail = status, code, title, detail
        self.pointer = pointer
        self.retry_after = retry_after


def error_response(error: ApiError) -> Response:
    body = {
        "errors": [
            {
                "id": str(uuid.uuid4()),
                "status": error.status,
                "code": error.code,
                "title": error.title,
                "detail": error.detail,
                "source": {"pointer": error.pointer or "/data/"},
            }
        ]
    }
    headers = {"Retry-After": str(error.retry_after)} if error.retry_after is not None else {}
    return Response(json.dumps(body), status=error.status, headers=headers, content_type=JSON_API)


def raise_throttled(retry_after: int) -> None:
    raise ApiError(
        429,
        "throttled",
        "Request was throttled.",
        f"Request was throttled. Expected available in {retry_after} second"
        + ("" if retry_after == 1 else "s")
        + ".",
        retry_after=retry_after,
    )


def data_of(expected_type: str) -> dict[str, Any]:
    try:
        body = json.loads(request.get_data() or b"null")
    except ValueError as error:
        raise ApiError(400, "invalid", "Invalid input.", "JSON parse error.", "/") from error
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        raise ApiError(400, "invalid", "Invalid input.", "'data' is required.", "/data")
    if data.get("type") != expected_type:
        raise ApiError(
            409 if data.get("type") else 400,
            "conflict" if data.get("type") else "invalid",
            "Conflict." if data.get("type") else "Invalid input.",
            f"The type '{data.get('type')}' does not match the endpoint's '{expected_type}'.",
            "/data/type",
        )
    attributes = data.get("attributes")
    if not isinstance(attributes, dict):
        raise ApiError(400, "invalid", "Invalid input.", "'attributes' is required.", "/data")
    return attributes


def profile_attributes(entry: Any, pointer: str) -> dict[str, Any]:
    if not isinstance(entry, dict) or entry.get("type") != "profile":
        raise ApiError(400, "invalid", "Invalid input.", "A profile is expected.", pointer)
    attributes = entry.get("attributes") or {}
    email = attributes.get("email")
    if not isinstance(email, str) or "@" not in email:
        raise ApiError(
            400,
            "invalid",
            "Invalid input.",
            "One of email, phone_number or external_id is required.",
            pointer + "/attributes/email",
        )
    return attributes


def event_fields(attributes: dict[str, Any], pointer: str) -> tuple[str, dict[str, Any]]:
    metric = (((attributes.get("metric") or {}).get("data") or {}).get("attributes") or {}).get(
        "name"
    )
    if not isinstance(metric, str) or not metric:
        raise ApiError(
            400, "invalid", "Invalid input.", "The metric name is required.", pointer + "/metric"
        )
    properties = attributes.get("properties")
    if not isinstance(properties, dict):
        raise ApiError(
            400, "invalid", "Invalid input.", "'properties' is required.", pointer + "/properties"
        )
    return metric, properties
