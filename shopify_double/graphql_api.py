"""The GraphQL Admin API endpoint: token check, real parsing and validation, cost and throttle.

Responses follow Shopify's shapes, including the ones clients must handle: 401 with a string
`errors`, THROTTLED as HTTP 200, MAX_COST_EXCEEDED, and `extensions.cost` on every answer.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Response, current_app, jsonify, request
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLInputType,
    ObjectFieldNode,
    OperationDefinitionNode,
    TypeInfo,
    TypeInfoVisitor,
    Visitor,
    build_schema,
    execute,
    get_named_type,
    get_nullable_type,
    get_operation_ast,
    is_input_object_type,
    is_list_type,
    parse,
    type_from_ast,
    validate,
    visit,
)

from .context import Context
from .cost import MAX_QUERY_COST, query_cost
from .oauth import find_access_token
from .resolvers import ROOT
from .state import AccessToken, Shop
from .throttle import DOCUMENTATION

if TYPE_CHECKING:
    from .server import ShopifyDouble

SCHEMA = build_schema(Path(__file__).with_name("schema.graphql").read_text())
API_VERSION = re.compile(r"\d{4}-(01|04|07|10)|unstable")
INVALID_TOKEN = "[API] Invalid API key or access token (unrecognized login or wrong password)"
#: from this version on a body must be JSON; `application/graphql` is a 415 ("unstable" sorts
#: after every dated version, as it should).
JSON_ONLY_SINCE = "2025-01"
UNSUPPORTED_CONTENT_TYPE = "Unsupported Content-Type header, use application/json"
VALIDATION_CODES = (
    ("Cannot query field", "undefinedField"),
    ("Unknown argument", "argumentNotAccepted"),
    ("is required, but it was not provided", "missingRequiredArguments"),
    ("Unknown type", "undefinedType"),
    ("Variable", "variableMismatch"),
    ("Fragment", "fragmentMismatch"),
    ("must have a selection of subfields", "selectionMismatch"),
    ("must not have a selection", "selectionMismatch"),
)

bp = Blueprint("graphql_api", __name__)


def format_error(error: GraphQLError, code: str | None = None) -> dict[str, Any]:
    """graphql-core's error dict with an `extensions.code`, as Shopify always sends one."""
    formatted = dict(error.formatted)
    extensions = dict(error.extensions or {})
    if "code" not in extensions:
        extensions["code"] = code or next(
            (c for text, c in VALIDATION_CODES if text in error.message), "INTERNAL_SERVER_ERROR"
        )
    formatted["extensions"] = extensions
    return formatted


class _DeprecatedUses(Visitor):
    """Collects the deprecated fields and input fields a document names."""

    def __init__(self, type_info: TypeInfo) -> None:
        super().__init__()
        self.type_info = type_info
        self.found: list[str] = []

    def enter_field(self, node: FieldNode, *_: Any) -> None:
        field, parent = self.type_info.get_field_def(), self.type_info.get_parent_type()
        if field is not None and parent is not None and field.deprecation_reason is not None:
            self.found.append(f"{parent.name}.{node.name.value}")

    def enter_object_field(self, node: ObjectFieldNode, *_: Any) -> None:
        parent = get_named_type(self.type_info.get_parent_input_type())
        if is_input_object_type(parent):
            field = parent.fields.get(node.name.value)  # type: ignore[union-attr]
            if field is not None and field.deprecation_reason is not None:
                self.found.append(f"{parent.name}.{node.name.value}")


def _deprecated_inputs(type_: GraphQLInputType, value: Any, found: list[str]) -> None:
    """Deprecated input fields inside a variable's value (literals are the visitor's)."""
    type_ = get_nullable_type(type_)
    if is_list_type(type_):
        for item in value if isinstance(value, list) else [value]:
            _deprecated_inputs(type_.of_type, item, found)
    elif is_input_object_type(type_) and isinstance(value, dict):
        for name, item in value.items():
            field = type_.fields.get(name)
            if field is None:
                continue
            if field.deprecation_reason is not None:
                found.append(f"{type_.name}.{name}")
            _deprecated_inputs(field.type, item, found)


def deprecations(
    document: DocumentNode, operation: OperationDefinitionNode, variables: dict[str, Any] | None
) -> list[str]:
    """What Shopify names in `X-Shopify-API-Deprecated-Reason` (since 2025-04: `Type.field`).

    Deprecated parts of the pinned version still answer; the header is how Shopify (and its
    Partner Dashboard's API health report) tells an app it relies on one.
    """
    type_info = TypeInfo(SCHEMA)
    uses = _DeprecatedUses(type_info)
    visit(document, TypeInfoVisitor(type_info, uses))
    for definition in operation.variable_definitions or ():
        name = definition.variable.name.value
        var_type = type_from_ast(SCHEMA, definition.type)
        if var_type is not None and variables and name in variables:
            _deprecated_inputs(var_type, variables[name], uses.found)  # type: ignore[arg-type]
    return list(dict.fromkeys(uses.found))


def _cost(requested: int, actual: int | None, throttle_status: dict) -> dict:
    return {
        "cost": {
            "requestedQueryCost": requested,
            "actualQueryCost": actual,
            "throttleStatus": throttle_status,
        }
    }


def run_operation(
    double: ShopifyDouble,
    shop: Shop,
    access: AccessToken,
    query: str,
    variables: dict[str, Any] | None,
    operation_name: str | None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Execute one GraphQL request; returns the response body and the call record."""
    record: dict[str, Any] = {
        "shop": shop.domain,
        "operation_name": operation_name,
        "root_fields": [],
        "variables": variables,
        "requested_cost": 0,
        "actual_cost": 0,
        "throttled": False,
        "status": 200,
        "deprecations": [],
    }

    def failed(errors: list[dict], requested: int = 0) -> tuple[dict, dict]:
        body = {
            "errors": errors,
            "extensions": _cost(requested, 0, double.throttle.status(shop.domain)),
        }
        record["errors"] = [e["message"] for e in errors]
        return body, record

    try:
        document = parse(query)
    except GraphQLError as exc:
        return failed([format_error(exc, "PARSE_ERROR")])
    errors = validate(SCHEMA, document)
    if errors:
        return failed([format_error(e) for e in errors])
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        message = (
            f"Unknown operation named '{operation_name}'."
            if operation_name
            else "An operation name is required when sending multiple operations."
        )
        return failed([{"message": message, "extensions": {"code": "OPERATION_NAME_REQUIRED"}}])
    record["operation_name"] = operation.name.value if operation.name else operation_name
    record["deprecations"] = deprecations(document, operation, variables)
    record["root_fields"] = [
        s.name.value for s in operation.selection_set.selections if isinstance(s, FieldNode)
    ]
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    requested = query_cost(SCHEMA, fragments, operation, variables)
    record["requested_cost"] = requested
    if requested > MAX_QUERY_COST:
        message = (
            f"Query cost is {requested}, which exceeds the single query max cost limit "
            f"({MAX_QUERY_COST}).\n\nSee {DOCUMENTATION} for more information on how the cost "
            "of a query is calculated.\n\nTo query larger amounts of data with fewer limits, "
            "bulk operations should be used instead."
        )
        extensions = {
            "code": "MAX_COST_EXCEEDED",
            "cost": requested,
            "maxCost": MAX_QUERY_COST,
            "documentation": DOCUMENTATION,
        }
        return failed([{"message": message, "extensions": extensions}], requested)
    if not double.throttle.admit(shop.domain, requested):
        record["throttled"] = True
        record["actual_cost"] = None
        body = {
            "errors": [
                {
                    "message": "Throttled",
                    "extensions": {"code": "THROTTLED", "documentation": DOCUMENTATION},
                }
            ],
            "extensions": _cost(requested, None, double.throttle.status(shop.domain)),
        }
        return body, record
    context = Context(
        store=double.store,
        shop=shop,
        scopes=frozenset(s.strip() for s in access.scope.split(",") if s.strip()),
        base_url=double.base_url,
        bulk_delay=double.bulk_delay,
        api_client_id=double.api_client_id,
    )
    with double.store.lock:
        result = execute(
            SCHEMA,
            document,
            root_value=ROOT,
            context_value=context,
            variable_values=variables,
            operation_name=operation_name,
        )
        actual = (
            query_cost(SCHEMA, fragments, operation, variables, result.data, actual=True)
            if result.data is not None
            else 0
        )
    double.throttle.settle(shop.domain, requested, actual)
    record["actual_cost"] = actual
    body: dict[str, Any] = {}
    if result.errors:
        body["errors"] = [format_error(e) for e in result.errors]
        record["errors"] = [e.message for e in result.errors]
    body["data"] = result.data
    body["extensions"] = _cost(requested, actual, double.throttle.status(shop.domain))
    return body, record


def _double() -> ShopifyDouble:
    return current_app.extensions["shopify_double"]


def _failure_response(status: int, retry_after: float) -> Response:
    """What Shopify's edge answers when it is overloaded or broken."""
    request_id = str(uuid.uuid4())
    if status == 429:
        body: Any = {
            "errors": "Exceeded 2 calls per second for api client. "
            "Reduce request rates to resume uninterrupted service."
        }
    elif status == 500:
        body = {
            "errors": [
                {
                    "message": "Internal error. Looks like something went wrong on our end.\n"
                    f"Request ID: {request_id} (include this in support requests).",
                    "extensions": {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id},
                }
            ]
        }
    else:
        body = {"errors": f"{status} Service Unavailable" if status == 503 else f"Error {status}"}
    response = jsonify(body)
    response.status_code = status
    response.headers["X-Request-Id"] = request_id
    if status in (429, 503):
        response.headers["Retry-After"] = f"{retry_after:.1f}"
    return response


@bp.post("/<shop>/admin/api/<version>/graphql.json")
def graphql(shop: str, version: str) -> Any:
    double = _double()
    with double.store.lock:
        shop_obj = double.store.shops.get(shop)
    if shop_obj is None or not API_VERSION.fullmatch(version):
        return "There's nothing here", 404
    access = find_access_token(double, shop, request.headers.get("X-Shopify-Access-Token"))
    if access is None:
        return jsonify({"errors": INVALID_TOKEN}), 401
    if request.mimetype == "application/graphql":
        if version >= JSON_ONLY_SINCE:
            # GraphQL over HTTP: only a JSON body since 2025-01.
            return jsonify({"errors": UNSUPPORTED_CONTENT_TYPE}), 415
        query, variables, operation_name = request.get_data(as_text=True), None, None
    else:
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or not isinstance(body.get("query"), str):
            return jsonify({"errors": {"query": "Required parameter missing or invalid"}}), 400
        query = body["query"]
        variables = body.get("variables") if isinstance(body.get("variables"), dict) else None
        operation_name = body.get("operationName") or None
    failure = double.take_failure()
    if failure is not None:
        status, retry_after = failure
        with double.store.lock:
            double.graphql_calls.append(
                {
                    "shop": shop,
                    "operation_name": operation_name,
                    "root_fields": [],
                    "variables": variables,
                    "requested_cost": None,
                    "actual_cost": None,
                    "throttled": False,
                    "status": status,
                }
            )
        return _failure_response(status, retry_after)
    payload, record = run_operation(double, shop_obj, access, query, variables, operation_name)
    with double.store.lock:
        double.graphql_calls.append(record)
    response = jsonify(payload)
    if record["deprecations"]:
        response.headers["X-Shopify-API-Deprecated-Reason"] = ", ".join(record["deprecations"])
    response.headers["X-Shopify-API-Version"] = version
    response.headers["X-Request-Id"] = str(uuid.uuid4())
    return response
