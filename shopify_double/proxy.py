"""App proxy signing: the query parameters Shopify adds when it forwards a storefront request.

Shopify signs the sorted `key=value` pairs concatenated with no separator (list values joined
with commas), which differs from the OAuth HMAC; apps get this wrong often enough to test it.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping, Sequence

ParamValue = str | int | Sequence[str]


def _joined(value: ParamValue) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, Sequence):
        return ",".join(str(v) for v in value)
    return str(value)


def proxy_signature(params: Mapping[str, ParamValue], secret: str) -> str:
    """Hex HMAC-SHA256 of the params (without `signature`) as Shopify computes it."""
    pairs = []
    for key, value in params.items():
        if key == "signature":
            continue
        pairs.append(f"{key}={_joined(value)}")
    message = "".join(sorted(pairs))
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def proxy_query(
    shop: str,
    secret: str,
    path_prefix: str = "/apps/referrals",
    params: Mapping[str, ParamValue] | None = None,
    *,
    timestamp: int | None = None,
    logged_in_customer_id: str | int = "",
) -> dict[str, ParamValue]:
    """The full query string Shopify forwards to the app's proxy URL, `signature` included."""
    query: dict[str, ParamValue] = {
        "shop": shop,
        "logged_in_customer_id": str(logged_in_customer_id),
        "path_prefix": path_prefix,
        "timestamp": str(int(time.time()) if timestamp is None else timestamp),
    }
    for key, value in (params or {}).items():
        is_list = isinstance(value, Sequence) and not isinstance(value, str)
        query[key] = [str(v) for v in value] if is_list else str(value)
    query["signature"] = proxy_signature(query, secret)
    return query
