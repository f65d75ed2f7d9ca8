"""The balance metafield: each customer's points in `$app:loyalty.points`, for themes and Flow.

A balance change marks the customer's PointBalance dirty (`ledger.point_state`, in the
statement that moves the balance) and queues one sync per shop after the commit. The sync reads
dirty rows in keyset order, sends them 25 to a `metafieldsSet` call (Shopify's limit), paced by
the answers' `throttleStatus` so it runs at the rate the bucket restores instead of bouncing off
THROTTLED, and records what Shopify now holds. A row is cleaned only if the balance is still
the one sent (checked with the balance row locked), so a change made during the sync stays
dirty and goes in the next one. Customers with no Shopify id (Guests added by CSV) or deleted
ones cannot hold a metafield: they are
released, not left dirty for ever.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from redis import Redis
from sqlalchemy import and_, bindparam, or_, select, update

from shopify_app.platform.extensions import db, redis_conn
from shopify_app.platform.models import Customer, PointBalance, Shop
from shopify_app.platform.queue import enqueue, enqueue_after_commit
from shopify_app.platform.shopify.client import STANDARD_RESTORE_RATE, AdminClient

log = logging.getLogger(__name__)

NAMESPACE, KEY, TYPE = "$app:loyalty", "points", "number_integer"
#: Shopify's limit of metafields in one `metafieldsSet`.
PER_CALL = 25
#: rows read and recorded in one transaction (ten calls).
PER_BATCH = PER_CALL * 10
#: what a mutation costs against the bucket (Shopify's cost model).
CALL_COST = 10
JOB = "shopify_app.loyalty.metafield_jobs.sync_metafields"
LOCK_TTL = 120
SET_POINTS = """
mutation SetPoints($metafields: [MetafieldsSetInput!]!) {
  metafieldsSet(metafields: $metafields) {
    userErrors { field message code elementIndex }
  }
}
"""


class MetafieldRefused(Exception):
    """Shopify refused a metafieldsSet call as a whole (an error not tied to one input)."""


@dataclass(frozen=True)
class DirtyBalance:
    customer_id: int
    shopify_id: int
    balance: int


@dataclass
class SyncResult:
    sent: int = 0
    released: int = 0
    given_up: int = 0
    calls: int = 0
    still_dirty: int = 0
    errors: list[str] = field(default_factory=list)


def job_id(shop_id: int) -> str:
    return f"loyalty-metafields-{shop_id}"


def request_sync(shop_id: int) -> None:
    """Queue the shop's sync once this transaction commits (one job id a shop per commit)."""
    enqueue_after_commit(JOB, shop_id, job_id=job_id(shop_id))


class Pacer:
    """Waits before a call until the bucket should hold its cost, from the last `throttleStatus`.

    Measured from when the answer arrived, so the database work between calls overlaps the
    bucket's refill; a wrong guess only costs one THROTTLED answer, which the client retries.
    """

    def __init__(
        self,
        cost: float = CALL_COST,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.cost = cost
        self.sleep = sleep
        self.clock = clock
        self.ready_at = 0.0

    def wait(self) -> None:
        delay = self.ready_at - self.clock()
        if delay > 0:
            self.sleep(delay)

    def saw(self, cost: dict[str, Any] | None) -> None:
        status = (cost or {}).get("throttleStatus") or {}
        if "currentlyAvailable" not in status:
            return
        rate = float(status.get("restoreRate") or 0) or STANDARD_RESTORE_RATE
        missing = self.cost - float(status["currentlyAvailable"])
        self.ready_at = self.clock() + max(missing, 0.0) / rate


def metafield_input(row: DirtyBalance) -> dict[str, str]:
    return {
        "ownerId": f"gid://shopify/Customer/{row.shopify_id}",
        "namespace": NAMESPACE,
        "key": KEY,
        "type": TYPE,
        "value": str(row.balance),
    }


def release_unsendable(shop: Shop) -> int:
    """Clear the dirty mark of customers no metafield can belong to (no Shopify id, deleted)."""
    unsendable = select(Customer.id).where(
        Customer.shop_id == shop.id,
        or_(Customer.shopify_id.is_(None), Customer.deleted_at.is_not(None)),
    )
    result = db.session.execute(
        update(PointBalance)
        .where(
            PointBalance.shop_id == shop.id,
            PointBalance.metafield_dirty.is_(True),
            PointBalance.customer_id.in_(unsendable),
        )
        .values(metafield_dirty=False)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


def dirty_balances(shop: Shop, after: int, limit: int = PER_BATCH) -> list[DirtyBalance]:
    """The next dirty rows after `after` (customer id), with what to send."""
    rows = db.session.execute(
        select(PointBalance.customer_id, Customer.shopify_id, PointBalance.balance)
        .join(Customer, Customer.id == PointBalance.customer_id)
        .where(
            PointBalance.shop_id == shop.id,
            PointBalance.metafield_dirty.is_(True),
            PointBalance.customer_id > after,
            Customer.shop_id == shop.id,
            Customer.shopify_id.is_not(None),
            Customer.deleted_at.is_(None),
        )
        .order_by(PointBalance.customer_id)
        .limit(limit)
    ).all()
    return [DirtyBalance(r.customer_id, r.shopify_id, r.balance) for r in rows]


def send_balances(
    client: AdminClient, pacer: Pacer, rows: Sequence[DirtyBalance], result: SyncResult
) -> tuple[dict[int, int], set[int]]:
    """Send up to 25 balances; returns (customer id → value Shopify holds, ids given up).

    `metafieldsSet` is atomic: one input it refuses fails the call. That input is given up
    (logged; the next change tries again) and the others are sent again without it.
    """
    pending = list(rows)
    given_up: set[int] = set()
    while pending:
        pacer.wait()
        data = client.execute(SET_POINTS, {"metafields": [metafield_input(r) for r in pending]})
        pacer.saw(client.last_cost)
        result.calls += 1
        errors = (data.get("metafieldsSet") or {}).get("userErrors") or []
        if not errors:
            return {r.customer_id: r.balance for r in pending}, given_up
        refused = {e["elementIndex"] for e in errors if e.get("elementIndex") is not None}
        if not refused:
            raise MetafieldRefused("; ".join(str(e.get("message")) for e in errors))
        log.warning("points metafields refused: %s", errors)
        given_up |= {pending[i].customer_id for i in refused if i < len(pending)}
        pending = [r for i, r in enumerate(pending) if i not in refused]
    return {}, given_up


def record_sent(shop: Shop, sent: dict[int, int], given_up: set[int]) -> int:
    """Store what Shopify holds; clean a row only if its balance is still the value sent.

    The balance rows are locked first (as the ledger locks them to change a balance), so a
    change cannot commit between the comparison and the write. Returns rows still dirty.
    """
    ids = sorted(sent.keys() | given_up)
    if not ids:
        return 0
    balances = dict(
        db.session.execute(
            select(PointBalance.customer_id, PointBalance.balance)
            .where(PointBalance.shop_id == shop.id, PointBalance.customer_id.in_(ids))
            .order_by(PointBalance.customer_id)
            .with_for_update()
        ).all()
    )
    table = PointBalance.__table__
    params = [
        {
            "cid": cid,
            "value": value,
            "dirty": balances.get(cid, value) != value,
        }
        for cid, value in sent.items()
    ]
    if params:
        db.session.execute(
            update(table)
            .where(and_(table.c.customer_id == bindparam("cid"), table.c.shop_id == shop.id))
            .values(metafield_value=bindparam("value"), metafield_dirty=bindparam("dirty")),
            params,
        )
    if given_up:
        db.session.execute(
            update(table)
            .where(table.c.shop_id == shop.id, table.c.customer_id.in_(sorted(given_up)))
            .values(metafield_dirty=False)
        )
    return sum(1 for p in params if p["dirty"])


def run_sync(
    shop: Shop,
    client: AdminClient,
    *,
    pacer: Pacer | None = None,
    keep_lock: Callable[[], None] = lambda: None,
) -> SyncResult:
    """Drain the shop's dirty balances to Shopify; commits each batch (the job's unit of work).

    Keyset order, so rows left dirty (changed meanwhile) wait for the next run instead of
    being sent again and again in this one.
    """
    pacer = pacer or Pacer()
    result = SyncResult(released=release_unsendable(shop))
    db.session.commit()
    after = 0
    while rows := dirty_balances(shop, after):
        db.session.commit()  # no transaction stays open across the calls
        after = rows[-1].customer_id
        sent: dict[int, int] = {}
        given_up: set[int] = set()
        try:
            for start in range(0, len(rows), PER_CALL):
                done, refused = send_balances(client, pacer, rows[start : start + PER_CALL], result)
                sent |= done
                given_up |= refused
        finally:
            result.still_dirty += record_sent(shop, sent, given_up)
            db.session.commit()
            result.sent += len(sent)
            result.given_up += len(given_up)
        keep_lock()
    return result


def _lock_key(shop_id: int) -> str:
    return f"shopify_app:loyalty:metafields:{shop_id}:lock"


def _again_key(shop_id: int) -> str:
    return f"shopify_app:loyalty:metafields:{shop_id}:again"


def sync_shop(shop_id: int) -> str:
    """One sync at a time per shop: a job arriving while one runs asks it for another pass.

    The request is set before the lock is tried, and the runner looks for it after letting
    the lock go, so a change is always seen by a pass that starts after it.
    """
    shop = db.session.get(Shop, shop_id)
    if shop is None or not shop.is_installed:
        return "skipped: not installed"
    redis: Redis = redis_conn()
    redis.set(_again_key(shop_id), "1", ex=LOCK_TTL * 5)
    total = SyncResult()
    token = secrets.token_hex(8)
    while redis.set(_lock_key(shop_id), token, nx=True, ex=LOCK_TTL):
        try:
            redis.delete(_again_key(shop_id))
            result = run_sync(
                shop,
                AdminClient(shop),
                keep_lock=lambda: redis.expire(_lock_key(shop_id), LOCK_TTL),
            )
        finally:
            if redis.get(_lock_key(shop_id)) in (token, token.encode()):
                redis.delete(_lock_key(shop_id))
        total.sent += result.sent
        total.calls += result.calls
        total.given_up += result.given_up
        total.released += result.released
        if not redis.exists(_again_key(shop_id)):
            break
    return (
        f"{total.sent} sent in {total.calls} calls; {total.released} without a Shopify "
        f"customer, {total.given_up} refused"
    )


def sweep() -> int:
    """Queue a sync for each installed shop with balances still dirty (a lost job, Redis down)."""
    dirty = (
        select(PointBalance.customer_id)
        .where(PointBalance.shop_id == Shop.id, PointBalance.metafield_dirty.is_(True))
        .exists()
    )
    shop_ids = db.session.scalars(
        select(Shop.id).where(
            Shop.uninstalled_at.is_(None), Shop.access_token_encrypted.is_not(None), dirty
        )
    ).all()
    db.session.rollback()
    for shop_id in shop_ids:
        enqueue(JOB, shop_id, job_id=job_id(shop_id))
    return len(shop_ids)
