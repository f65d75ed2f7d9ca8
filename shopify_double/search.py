"""Shopify's search syntax (the `query:` argument) and cursor pagination over in-memory lists.

Cursors carry the last sort value and id, like Shopify's, so paging stays stable while records
change underneath (an `updated_at` sync keeps working as customers are edited).
"""

from __future__ import annotations

import base64
import binascii
import json
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from fnmatch import fnmatchcase
from typing import Any, TypeVar

from graphql import GraphQLError

from .state import parse_time

T = TypeVar("T")
MAX_PAGE_SIZE = 250
TOKEN = re.compile(
    r"""(?P<neg>-)?(?:(?P<field>[A-Za-z_][\w.]*):)?(?P<op>>=|<=|>|<|=)?"""
    r"""(?P<value>'[^']*'|"[^"]*"|[^\s()]+)"""
)
COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    ":": operator.eq,
    "=": operator.eq,
}


@dataclass(frozen=True)
class Term:
    field: str | None
    op: str
    value: str
    negated: bool


def parse_search(text: str | None) -> list[list[Term]]:
    """Terms grouped as an OR of ANDs; an empty list matches everything."""
    groups: list[list[Term]] = [[]]
    for match in TOKEN.finditer(text or ""):
        raw = match.group(0)
        if raw == "OR":
            groups.append([])
            continue
        if raw in ("AND", "NOT"):
            continue
        value = match.group("value")
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        groups[-1].append(
            Term(match.group("field"), match.group("op") or ":", value, bool(match.group("neg")))
        )
    return [g for g in groups if g]


def matches(fields: Mapping[str, Any], groups: list[list[Term]]) -> bool:
    """Whether a record with these searchable fields satisfies the parsed query.

    Unknown fields are ignored, as Shopify ignores filters it does not support. The `default`
    field holds the words free text matches by prefix; a callable value is computed on demand.
    """
    if not groups:
        return True
    return any(all(_term_matches(fields, term) for term in group) for group in groups)


def _term_matches(fields: Mapping[str, Any], term: Term) -> bool:
    key = term.field or "default"
    if key not in fields:
        return True
    actual = fields[key]
    if callable(actual):
        actual = actual()
    if key == "default":
        wanted = term.value.lower().rstrip("*")
        found = any(str(word).lower().startswith(wanted) for word in actual if word)
    else:
        found = _compare(actual, term.op, term.value)
    return found != term.negated


def _compare(actual: Any, op: str, value: str) -> bool:
    if isinstance(actual, list | tuple | set):
        return any(_compare(item, op, value) for item in actual)
    if actual is None:
        return False
    if isinstance(actual, datetime):
        try:
            bound = parse_time(value)
        except ValueError:
            return False
        if op in (":", "=") and "T" not in value:
            return actual.date() == bound.date()
        return COMPARE[op](actual, bound)
    if isinstance(actual, bool):
        return op in (":", "=") and value.lower() == str(actual).lower()
    if isinstance(actual, int | Decimal):
        try:
            return COMPARE[op](Decimal(str(actual)), Decimal(value))
        except InvalidOperation:
            return False
    text, wanted = str(actual).lower(), value.lower()
    if op in (":", "="):
        return fnmatchcase(text, wanted) if "*" in wanted else text == wanted
    return COMPARE[op](text, wanted)


def micros(moment: datetime) -> int:
    """A time as an integer sort value that survives a JSON round trip through a cursor."""
    return int(moment.timestamp() * 1_000_000)


def encode_cursor(key: tuple[Any, int]) -> str:
    raw = json.dumps({"last_id": key[1], "last_value": key[0]}, separators=(",", ":"))
    return base64.b64encode(raw.encode()).decode()


def decode_cursor(cursor: str) -> tuple[Any, int]:
    try:
        data = json.loads(base64.b64decode(cursor.encode(), validate=True))
        return (data["last_value"], int(data["last_id"]))
    except (binascii.Error, ValueError, KeyError, TypeError) as exc:
        raise GraphQLError(
            "Invalid cursor for current pagination sort.", extensions={"code": "BAD_REQUEST"}
        ) from exc


def _position(keys: list[tuple[Any, int]], cursor: str, reverse: bool, *, past: bool) -> int:
    """Index of the first key past (or at, when not `past`) the cursor in sort order."""
    bound = decode_cursor(cursor)
    try:
        for index, key in enumerate(keys):
            if key == bound and not past:
                return index
            if (key < bound) if reverse else (key > bound):
                return index
    except TypeError as exc:
        raise GraphQLError(
            "Invalid cursor for current pagination sort.", extensions={"code": "BAD_REQUEST"}
        ) from exc
    return len(keys)


def paginate(
    items: Sequence[T],
    args: Mapping[str, Any],
    *,
    key: Callable[[T], tuple[Any, int]],
    node: Callable[[T], Any],
    unbounded: bool = False,
) -> dict[str, Any]:
    """A Relay connection (`edges`, `nodes`, `pageInfo`) over items, Shopify's rules applied.

    Args:
        unbounded: bulk operations page through everything and need no `first`/`last`.
    """
    first, last = args.get("first"), args.get("last")
    if not unbounded:
        if first is None and last is None:
            raise GraphQLError(
                "you must provide one of first or last", extensions={"code": "BAD_REQUEST"}
            )
        for name, size in (("first", first), ("last", last)):
            if size is not None and not 0 <= size <= MAX_PAGE_SIZE:
                raise GraphQLError(
                    f"The value of '{name}' must be between 0 and {MAX_PAGE_SIZE}.",
                    extensions={"code": "BAD_REQUEST", "argumentName": name},
                )
    reverse = bool(args.get("reverse"))
    ordered = sorted(items, key=key, reverse=reverse)
    keys = [key(item) for item in ordered]
    start, end = 0, len(ordered)
    if args.get("after"):
        start = _position(keys, args["after"], reverse, past=True)
    if args.get("before"):
        end = max(start, _position(keys, args["before"], reverse, past=False))
    if first is not None:
        end = min(end, start + first)
    if last is not None:
        start = max(start, end - last)
    edges = []
    for item, item_key in zip(ordered[start:end], keys[start:end], strict=True):
        edges.append({"cursor": encode_cursor(item_key), "node": node(item)})
    return {
        "edges": edges,
        "nodes": [edge["node"] for edge in edges],
        "pageInfo": {
            "hasNextPage": end < len(ordered),
            "hasPreviousPage": start > 0,
            "startCursor": edges[0]["cursor"] if edges else None,
            "endCursor": edges[-1]["cursor"] if edges else None,
        },
    }
