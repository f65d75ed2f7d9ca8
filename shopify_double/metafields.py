"""`metafieldsSet` on customers, with Shopify's limits, validation and app-reserved namespaces.

At most 25 metafields a call (more is a top-level MAX_INPUT_SIZE_EXCEEDED error, nothing set);
the call is atomic, so one bad input (an owner that does not exist, a value that is not of its
type) is a userError naming its `elementIndex` and nothing at all is written. `$app` in a
namespace is the calling app's reserved prefix, `app--<api client id>`, and answers carry the
resolved namespace, as Shopify's do.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from graphql import GraphQLError, GraphQLResolveInfo

from .context import Context
from .state import Customer, Metafield, gid, iso, parse_gid

MAX_METAFIELDS = 25
INT_MIN, INT_MAX = -(2**63), 2**63 - 1
KEY = re.compile(r"[A-Za-z0-9_-]{2,64}")
NAMESPACE = re.compile(r"[A-Za-z0-9_-]{3,255}")
#: the types this double validates; others Shopify knows are stored as given.
KNOWN_TYPES = frozenset(
    {
        "number_integer",
        "number_decimal",
        "single_line_text_field",
        "multi_line_text_field",
        "boolean",
        "json",
        "date",
        "date_time",
    }
)


def resolve_namespace(namespace: str | None, api_client_id: int) -> str:
    """`$app:loyalty` → `app--<id>--loyalty`; no namespace → the app's reserved `app--<id>`."""
    reserved = f"app--{api_client_id}"
    if not namespace or namespace == "$app":
        return reserved
    if namespace.startswith("$app:"):
        return f"{reserved}--{namespace.removeprefix('$app:')}"
    return namespace


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def metafield_node(metafield: Metafield) -> dict[str, Any]:
    return {
        "__typename": "Metafield",
        "id": gid("Metafield", metafield.id),
        "namespace": metafield.namespace,
        "key": metafield.key,
        "type": metafield.type,
        "value": metafield.value,
        "ownerType": "CUSTOMER",
        "compareDigest": digest(metafield.value),
        "createdAt": iso(metafield.created_at),
        "updatedAt": iso(metafield.updated_at),
    }


def customer_metafield(ctx: Context, customer: Customer, namespace: str | None, key: str) -> Any:
    """`Customer.metafield(namespace:, key:)`."""
    found = ctx.shop.metafields.get(
        (customer.id, resolve_namespace(namespace, ctx.api_client_id), key)
    )
    return metafield_node(found) if found else None


def _error(index: int, field: str, message: str, code: str) -> dict[str, Any]:
    return {
        "field": ["metafields", str(index), field],
        "message": message,
        "code": code,
        "elementIndex": index,
    }


def _value_error(type_: str, value: str, index: int) -> dict[str, Any] | None:
    if type_ == "number_integer":
        if not re.fullmatch(r"-?\d+", value.strip()):
            return _error(index, "value", "Value must be an integer.", "INVALID_VALUE")
        if not INT_MIN <= int(value) <= INT_MAX:
            return _error(
                index,
                "value",
                f"Value must be between {INT_MIN} and {INT_MAX}.",
                "INVALID_VALUE",
            )
    if type_ == "boolean" and value not in ("true", "false"):
        return _error(index, "value", "Value must be true or false.", "INVALID_VALUE")
    return None


def _check(
    ctx: Context, index: int, item: dict[str, Any]
) -> tuple[tuple[int, str, str, str] | None, dict[str, Any] | None]:
    """(customer id, namespace, key, type) to write, or the userError for this input."""
    owner = parse_gid(item.get("ownerId"), "Customer")
    if owner is None or owner not in ctx.shop.customers:
        return None, _error(index, "ownerId", "Owner does not exist.", "INVALID")
    key = item.get("key") or ""
    if not KEY.fullmatch(key):
        message = "Key is too short (minimum is 2 characters)" if len(key) < 2 else "Key is invalid"
        return None, _error(index, "key", message, "TOO_SHORT" if len(key) < 2 else "INVALID")
    namespace = resolve_namespace(item.get("namespace"), ctx.api_client_id)
    if not NAMESPACE.fullmatch(namespace):
        return None, _error(index, "namespace", "Namespace is invalid", "INVALID")
    existing = ctx.shop.metafields.get((owner, namespace, key))
    type_ = item.get("type") or (existing.type if existing else None)
    if not type_:
        return None, _error(index, "type", "Type can't be blank", "BLANK")
    if type_ not in KNOWN_TYPES:
        return None, _error(index, "type", f"Type '{type_}' is not a valid type", "INVALID_TYPE")
    if existing is not None and existing.type != type_:
        message = f"Type must be consistent with the stored {existing.type}"
        return None, _error(index, "type", message, "INVALID_TYPE")
    if "compareDigest" in item:
        wanted = item["compareDigest"]
        current = digest(existing.value) if existing else None
        if wanted != current:
            return None, _error(
                index,
                "compareDigest",
                "The resource has been updated since it was loaded.",
                "STALE_OBJECT",
            )
    error = _value_error(type_, str(item.get("value", "")), index)
    if error is not None:
        return None, error
    return (owner, namespace, key, type_), None


def set_metafields(info: GraphQLResolveInfo, metafields: list[dict[str, Any]]) -> dict:
    """`metafieldsSet`: all or nothing, at most 25, on customers (needs `write_customers`)."""
    ctx: Context = info.context
    if not ctx.allows("write_customers"):
        raise GraphQLError(
            "Access denied for metafieldsSet field.", extensions={"code": "ACCESS_DENIED"}
        )
    if len(metafields) > MAX_METAFIELDS:
        raise GraphQLError(
            f"The input array size of {len(metafields)} is greater than the maximum allowed "
            f"of {MAX_METAFIELDS}.",
            extensions={"code": "MAX_INPUT_SIZE_EXCEEDED"},
        )
    checked: list[tuple[tuple[int, str, str, str], str]] = []
    errors: list[dict[str, Any]] = []
    for index, item in enumerate(metafields):
        target, error = _check(ctx, index, item)
        if error is not None:
            errors.append(error)
        elif target is not None:
            checked.append((target, str(item["value"])))
    if errors:
        return {"metafields": [], "userErrors": errors}
    now = ctx.store.clock.now()
    written = []
    for (owner, namespace, key, type_), value in checked:
        stored = ctx.shop.metafields.get((owner, namespace, key))
        if stored is None:
            stored = Metafield(
                id=ctx.store.next_id("Metafield"),
                owner_id=owner,
                namespace=namespace,
                key=key,
                type=type_,
                value=value,
                created_at=now,
                updated_at=now,
            )
            ctx.shop.metafields[(owner, namespace, key)] = stored
        else:
            stored.value, stored.updated_at = value, now
        written.append(metafield_node(stored))
    return {"metafields": written, "userErrors": []}
