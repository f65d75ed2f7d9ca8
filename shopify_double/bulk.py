"""Bulk query operations: run a connection query over every record and serve JSONL, as Shopify.

The query runs at once through the same schema and resolvers, without page limits; the operation
still reports RUNNING for `bulk_delay` seconds so apps exercise their polling.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Blueprint, Response, current_app
from graphql import (
    FieldNode,
    GraphQLError,
    GraphQLResolveInfo,
    OperationDefinitionNode,
    OperationType,
    execute,
    get_named_type,
    parse,
    validate,
)

from .context import Context
from .state import BulkOperation, gid, iso, parse_gid

bp = Blueprint("bulk", __name__)
#: since API version 2026-01 an app may run this many bulk query operations at once per shop.
MAX_RUNNING_QUERIES = 5


def bulk_node(ctx: Context, operation: BulkOperation, *, status: str | None = None) -> dict:
    """A BulkOperation object; `url` is null until completed and when nothing matched."""
    current = status or operation.current_status(datetime.now(UTC))
    done = current == "COMPLETED"
    return {
        "__typename": "BulkOperation",
        "id": gid("BulkOperation", operation.id),
        "status": current,
        "errorCode": operation.error_code,
        "objectCount": str(operation.object_count if done else 0),
        "rootObjectCount": str(operation.root_object_count if done else 0),
        "fileSize": str(len(operation.content)) if done and operation.content else None,
        "url": (
            f"{ctx.base_url}/bulk/{operation.id}.jsonl" if done and operation.object_count else None
        ),
        "partialDataUrl": None,
        "query": operation.query,
        "type": "QUERY",
        "createdAt": iso(operation.created_at),
        "completedAt": iso(operation.ready_at) if current in ("COMPLETED", "FAILED") else None,
    }


def _user_error(
    message: str, code: str = "INVALID", field: tuple[str, ...] | None = ("query",)
) -> dict:
    return {
        "bulkOperation": None,
        "userErrors": [{"field": list(field) if field else None, "message": message, "code": code}],
    }


def _is_connection(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and ("edges" in value or "nodes" in value)
        and all(key in ("edges", "nodes", "pageInfo") for key in value)
    )


def _connection_nodes(connection: dict) -> list[dict]:
    if "nodes" in connection:
        return list(connection["nodes"] or [])
    return [edge["node"] for edge in connection.get("edges") or [] if "node" in edge]


def flatten(connection: dict, parent_id: str | None = None) -> Iterator[dict]:
    """JSONL lines: each node without its nested connections, children after it with __parentId."""
    for node in _connection_nodes(connection):
        line = {key: value for key, value in node.items() if not _is_connection(value)}
        if parent_id is not None:
            line["__parentId"] = parent_id
        yield line
        for value in node.values():
            if _is_connection(value):
                yield from flatten(value, node.get("id"))


def run_bulk_query(info: GraphQLResolveInfo, query: str) -> dict:
    """`bulkOperationRunQuery`: validate, run, store the file; the payload says CREATED.

    Up to `MAX_RUNNING_QUERIES` run side by side (2026-01 and later); one more is refused
    with LIMIT_REACHED until one of them finishes.
    """
    ctx: Context = info.context
    now = datetime.now(UTC)
    running = [
        existing
        for existing in ctx.shop.bulk_operations.values()
        if existing.current_status(now) in ("CREATED", "RUNNING")
    ]
    if len(running) >= MAX_RUNNING_QUERIES:
        return _user_error(
            "Bulk operations limit reached. Please try again later.", "LIMIT_REACHED", None
        )
    try:
        document = parse(query)
    except GraphQLError as exc:
        return _user_error(f"Invalid bulk query: {exc.message}")
    errors = validate(info.schema, document)
    if errors:
        return _user_error(f"Invalid bulk query: {errors[0].message}")
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) != 1 or operations[0].operation is not OperationType.QUERY:
        return _user_error("Invalid bulk query: a bulk query must be a single query operation")
    roots = [s for s in operations[0].selection_set.selections if isinstance(s, FieldNode)]
    query_type = info.schema.query_type
    connections = [
        root
        for root in roots
        if get_named_type(query_type.fields[root.name.value].type).name.endswith("Connection")
    ]
    if len(roots) != 1 or len(connections) != 1:
        return _user_error("Bulk queries must contain exactly one top-level connection field.")

    result = execute(
        info.schema,
        document,
        root_value=info.root_value,
        context_value=replace(ctx, bulk=True),
    )
    operation = BulkOperation(
        id=ctx.store.next_id("BulkOperation"),
        query=query,
        created_at=ctx.store.clock.now(),
        ready_at=now + timedelta(seconds=ctx.bulk_delay),
    )
    if result.errors or result.data is None:
        denied = any(
            (e.extensions or {}).get("code") == "ACCESS_DENIED" for e in result.errors or []
        )
        operation.status = "FAILED"
        operation.error_code = "ACCESS_DENIED" if denied else "INTERNAL_SERVER_ERROR"
    else:
        root = roots[0]
        connection = result.data[root.alias.value if root.alias else root.name.value]
        lines = list(flatten(connection))
        operation.content = "".join(json.dumps(line) + "\n" for line in lines).encode()
        operation.object_count = len(lines)
        operation.root_object_count = len(_connection_nodes(connection))
    ctx.shop.bulk_operations[operation.id] = operation
    return {"bulkOperation": bulk_node(ctx, operation, status="CREATED"), "userErrors": []}


def cancel_bulk_operation(info: GraphQLResolveInfo, operation_id: str) -> dict:
    """`bulkOperationCancel`: only a running operation can be cancelled."""
    ctx: Context = info.context
    number = parse_gid(operation_id, "BulkOperation")
    operation = ctx.shop.bulk_operations.get(number) if number else None
    if operation is None:
        return {
            "bulkOperation": None,
            "userErrors": [{"field": ["id"], "message": "Bulk operation does not exist"}],
        }
    if operation.current_status(datetime.now(UTC)) != "RUNNING":
        return {
            "bulkOperation": bulk_node(ctx, operation),
            "userErrors": [
                {
                    "field": None,
                    "message": "A bulk operation cannot be canceled when it is "
                    f"{operation.current_status(datetime.now(UTC)).lower()}",
                }
            ],
        }
    operation.status = "CANCELED"
    operation.content = b""
    return {"bulkOperation": bulk_node(ctx, operation), "userErrors": []}


@bp.get("/bulk/<int:operation_id>.jsonl")
def download(operation_id: int) -> Response | tuple[str, int]:
    """The result file, as the signed storage URL Shopify hands out would serve it."""
    store = current_app.extensions["shopify_double"].store
    with store.lock:
        operation = store.bulk_operation(operation_id)
        if operation is None or operation.current_status(datetime.now(UTC)) != "COMPLETED":
            return "NoSuchKey", 404
        content = operation.content
    return Response(content, mimetype="application/jsonl")
