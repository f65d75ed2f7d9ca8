"""Initial customer sync from the GraphQL Admin API, resumable page by page.

Small stores are read with cursor pages; large ones with a bulk operation whose JSONL result
is streamed. The position is saved with each committed batch (`shop.sync_cursor`), so a
crashed sync resumes where it stopped, and the upsert is keyed on the Shopify id, so a page
read twice never duplicates a customer.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator

import requests

from shopify_app.loyalty.earning import accounts_watched
from shopify_app.platform.customer_store import ShopifyCustomer, upsert_shopify_customers
from shopify_app.platform.errors import ShopifyAPIError
from shopify_app.platform.extensions import db
from shopify_app.platform.models import Shop
from shopify_app.platform.models.base import utcnow
from shopify_app.platform.shopify.client import AdminClient

PAGE_SIZE = 250
#: above this many customers a bulk operation is cheaper than cursor pages.
BULK_THRESHOLD = 20_000
CUSTOMER_FIELDS = (
    "id firstName lastName defaultEmailAddress { emailAddress } locale state tags updatedAt"
)

#: `limit: null`: the exact count (the default stops at 10,000, which would hide a large store).
#: the store's own facts the pages, emails and points read: money in its currency, days in its
#: time zone. Read when a sync starts from its first page (each install and resync).
SHOP_QUERY = "query ShopFacts { shop { name email currencyCode ianaTimezone } }"
COUNT_QUERY = "query CustomerCount { customersCount(limit: null) { count precision } }"
PAGE_QUERY = f"""
query CustomersPage($first: Int!, $after: String) {{
  customers(first: $first, after: $after, sortKey: ID) {{
    pageInfo {{ hasNextPage endCursor }}
    nodes {{ {CUSTOMER_FIELDS} }}
  }}
}}
"""
BULK_RUN = """
mutation RunBulk($query: String!) {
  bulkOperationRunQuery(query: $query) {
    bulkOperation { id status }
    userErrors { field message }
  }
}
"""
BULK_INNER = f"{{ customers {{ edges {{ node {{ {CUSTOMER_FIELDS} }} }} }} }}"
#: polled by id: since 2026-01 several bulk queries can run at once, so the deprecated
#: `currentBulkOperation` ("the most recent") may name another one than ours.
BULK_POLL = """
query BulkStatus($id: ID!) {
  bulkOperation(id: $id) { id status errorCode objectCount url }
}
"""


#: a bulk sync's saved position: `bulk:<operation gid>:<lines applied>`.
BULK_CURSOR = "bulk:"


def bulk_cursor(operation_id: str, lines: int) -> str:
    """The resume position of a bulk sync: our operation's id and how many lines are applied."""
    return f"{BULK_CURSOR}{operation_id}:{lines}"


def parse_bulk_cursor(cursor: str) -> tuple[str, int]:
    """The operation id and line count of `bulk_cursor`; split from the right, as a gid
    (`gid://shopify/BulkOperation/1`) holds colons itself."""
    operation_id, lines = cursor.removeprefix(BULK_CURSOR).rsplit(":", 1)
    return operation_id, int(lines)


def start_sync(shop: Shop, *, restart: bool = False) -> None:
    """Mark a sync as queued; `restart` forgets a saved position. The caller commits."""
    if restart or shop.sync_status == "done":
        shop.sync_cursor = None
        shop.sync_done = 0
    shop.sync_status = "queued"
    shop.sync_error = None
    shop.sync_attempts = 0


def upsert_batch(shop: Shop, nodes: list[dict]) -> int:
    """Upsert a page of GraphQL customer nodes.

    Their `state` is what Shopify holds now, so it corrects ours even when `updatedAt` did not
    move: Shopify's one-time update enabled customers who had signed in to customer accounts
    since May 2024 without webhooks and often without touching `updated_at`. A stored
    customer it finds enabled now earns the account points; one it stores for the first time
    does not, so the first sync after install rewards nobody.
    """
    customers = [ShopifyCustomer.from_graphql(n) for n in nodes]
    with accounts_watched(shop, [c.shopify_id for c in customers], new_customers_earn=False):
        return upsert_shopify_customers(shop, customers, state_is_current=True)


def run_sync(
    shop: Shop, client: AdminClient, *, sleep: Callable[[float], None] = time.sleep
) -> None:
    """Sync the shop's customers, committing after each batch with its resume position.

    "running" is committed before Shopify is asked anything: from then on each commit is the
    progress the sweeper's lease watches (`sync_jobs.STALLED`).
    """
    shop.sync_status = "running"
    if shop.sync_cursor is None:
        shop.sync_done = 0  # a sync from the first page counts from zero, however it started
    db.session.commit()
    if shop.sync_cursor is None:
        facts = client.execute(SHOP_QUERY)["shop"]
        shop.name = facts["name"] or shop.name
        shop.email = facts.get("email") or shop.email  # where "Send me a test email" goes
        shop.currency = facts["currencyCode"]
        shop.timezone = facts["ianaTimezone"] or shop.timezone
    if shop.sync_total is None or shop.sync_cursor is None:
        shop.sync_total = client.execute(COUNT_QUERY)["customersCount"]["count"]
    db.session.commit()
    cursor = shop.sync_cursor or ""
    if cursor.startswith(BULK_CURSOR) or (not cursor and shop.sync_total > BULK_THRESHOLD):
        _run_bulk(shop, client, sleep)
    else:
        _run_pages(shop, client)
    shop.sync_status = "done"
    shop.sync_cursor = None
    shop.synced_at = utcnow()
    db.session.commit()


def _run_pages(shop: Shop, client: AdminClient) -> None:
    while True:
        page = client.execute(PAGE_QUERY, {"first": PAGE_SIZE, "after": shop.sync_cursor})[
            "customers"
        ]
        shop.sync_done += upsert_batch(shop, page["nodes"])
        shop.sync_cursor = page["pageInfo"]["endCursor"] or shop.sync_cursor
        db.session.commit()
        if not page["pageInfo"]["hasNextPage"]:
            return


def _run_bulk(shop: Shop, client: AdminClient, sleep: Callable[[float], None]) -> None:
    cursor = shop.sync_cursor or ""
    if cursor.startswith(BULK_CURSOR):
        operation_id, skip_lines = parse_bulk_cursor(cursor)
    else:
        result = client.execute(BULK_RUN, {"query": BULK_INNER})["bulkOperationRunQuery"]
        if result["userErrors"]:
            raise ShopifyAPIError(f"bulk operation refused: {result['userErrors']}")
        operation_id, skip_lines = result["bulkOperation"]["id"], 0
        shop.sync_cursor = bulk_cursor(operation_id, 0)
        db.session.commit()
    url = _wait_for_bulk(client, operation_id, sleep)
    batch: list[dict] = []
    line_no = skip_lines
    for node in _jsonl(url, skip_lines, client.timeout) if url else ():
        batch.append(node)
        line_no += 1
        if len(batch) >= 1000:
            shop.sync_done += upsert_batch(shop, batch)
            shop.sync_cursor = bulk_cursor(operation_id, line_no)
            db.session.commit()
            batch = []
    if batch:
        shop.sync_done += upsert_batch(shop, batch)
        shop.sync_cursor = bulk_cursor(operation_id, line_no)
        db.session.commit()


def _wait_for_bulk(
    client: AdminClient, operation_id: str, sleep: Callable[[float], None]
) -> str | None:
    """Poll our own operation (the id `bulkOperationRunQuery` returned, saved in the cursor)
    until it completes; its result URL, or None when nothing matched."""
    for _ in range(3600):
        status = client.execute(BULK_POLL, {"id": operation_id})["bulkOperation"]
        if status is None:
            raise ShopifyAPIError(f"bulk operation {operation_id} is unknown to Shopify")
        if status["status"] == "COMPLETED":
            return status["url"]
        if status["status"] in {"FAILED", "CANCELED", "EXPIRED"}:
            raise ShopifyAPIError(f"bulk operation {status['status']}: {status['errorCode']}")
        sleep(1.0)
    raise ShopifyAPIError("bulk operation did not finish in an hour")


def _jsonl(url: str, skip: int, timeout: float) -> Iterator[dict]:
    """Stream the bulk result line by line, skipping lines already applied."""
    with requests.get(url, stream=True, timeout=timeout) as response:
        response.raise_for_status()
        for index, line in enumerate(response.iter_lines()):
            if index < skip or not line:
                continue
            yield json.loads(line)
