"""What a GraphQL resolver knows about the request it serves."""

from __future__ import annotations

from dataclasses import dataclass

from .state import Shop, Store


@dataclass(frozen=True)
class Context:
    """The shop a call is for, the scopes its token holds, and whether it runs as a bulk query.

    Bulk queries page through whole connections, so `bulk` lifts the `first`/`last` requirement.
    """

    store: Store
    shop: Shop
    scopes: frozenset[str]
    base_url: str
    bulk: bool = False
    bulk_delay: float = 0.0
    #: the app's numeric API client id: `$app` namespaces resolve to `app--<id>`.
    api_client_id: int = 0

    def allows(self, scope: str) -> bool:
        """A `read_x` scope is also granted by `write_x`, as on Shopify."""
        return scope in self.scopes or scope.replace("read_", "write_", 1) in self.scopes
