"""Points for the events an import just added, set-based: `earn_for_event` for a million rows.

The rule and its keys are `earning.earn_for_event`'s: the points `event_points` gives the
event's name, once per event (`event:<name>:<key>`, the ledger's source key), so an event
imported again earns nothing. On PostgreSQL a few statements pick the batch's new events
whose name earns, lock their balances, and write the ledger rows and the balances;
SQLite goes through `add_credits`.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, MetaData, Table, Text, select
from sqlalchemy.schema import CreateTable

from shopify_app.loyalty.credits import Credit, add_credits
from shopify_app.loyalty.earning import MAX_KEY, event_description, event_source_key
from shopify_app.loyalty.metafields import request_sync
from shopify_app.platform.db import TableNames, driver_cursor, is_postgresql, postgresql_ddl
from shopify_app.platform.extensions import db
from shopify_app.platform.models import CustomerEvent, PointBalance, PointsEntry, Shop
from shopify_app.platform.models.base import utcnow
from shopify_app.program.config import get_settings

SOURCE = "event"
_E, _P, _B = TableNames(CustomerEvent), TableNames(PointsEntry), TableNames(PointBalance)
#: `event_source_key` in SQL: the plain key when it fits, else the digest of name NUL key.
_KEY = (
    f"CASE WHEN length('event:' || e.{_E.name} || ':' || e.{_E.event_key}) <= {MAX_KEY} "
    f"THEN 'event:' || e.{_E.name} || ':' || e.{_E.event_key} "
    f"ELSE 'event:' || encode(sha256(convert_to(e.{_E.name}, 'UTF8') || '\\x00'::bytea || "
    f"convert_to(e.{_E.event_key}, 'UTF8')), 'hex') END"
)
#: the batch's events that earn and have not earned yet, with their key and points.
_EARNINGS = Table(
    "event_earnings",
    MetaData(),
    Column("customer_id", BigInteger),
    Column("event_id", BigInteger),
    Column("points", BigInteger),
    Column("description", Text),
    Column("source_key", Text),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DELETE ROWS",
)
_EARNINGS_DDL = postgresql_ddl(CreateTable(_EARNINGS, if_not_exists=True))
# The batch's events are read by id range first (OFFSET 0 keeps the planner from walking
# every event of that name instead); a table, not a CTE, so the joins after it are hashed.
_CANDIDATES_SQL = f"""
INSERT INTO event_earnings (customer_id, event_id, points, description, source_key)
SELECT e.customer_id, e.id, r.points, r.description, {_KEY}
FROM (SELECT {_E.id} AS id, {_E.customer_id} AS customer_id, {_E.name} AS name,
             {_E.event_key} AS event_key
      FROM {_E} WHERE {_E.shop_id} = %(shop)s AND {_E.import_id} = %(import)s
        AND {_E.id} BETWEEN %(first)s AND %(last)s OFFSET 0) e
JOIN unnest(%(names)s::text[], %(points)s::bigint[], %(descriptions)s::text[])
     AS r(name, points, description) ON r.name = e.name
"""
_FRESH_SQL = f"""
DELETE FROM event_earnings n USING {_P} p
WHERE p.{_P.shop_id} = %(shop)s AND p.{_P.source_key} = n.source_key
"""
_LOCK_SQL = f"""
SELECT b.{_B.customer_id} FROM {_B} b
WHERE b.{_B.shop_id} = %(shop)s AND b.{_B.customer_id} IN (SELECT customer_id FROM event_earnings)
ORDER BY b.{_B.customer_id} FOR NO KEY UPDATE
"""
_EARN_SQL = f"""
WITH inserted AS (
    INSERT INTO {_P} ({_P.columns("shop_id", "customer_id", "delta", "balance_after")},
                      {_P.columns("description", "source", "source_key", "created_at")})
    SELECT %(shop)s, n.customer_id, n.points,
           coalesce(b.{_B.balance}, 0)
               + sum(n.points) OVER (PARTITION BY n.customer_id ORDER BY n.event_id),
           n.description, %(source)s, n.source_key, %(now)s
    FROM event_earnings n
    LEFT JOIN {_B} b ON b.{_B.customer_id} = n.customer_id AND b.{_B.shop_id} = %(shop)s
    ON CONFLICT ({_P.columns("shop_id", "source_key")})
        WHERE {_P.source_key} IS NOT NULL DO NOTHING
    RETURNING {_P.customer_id} AS customer_id, {_P.delta} AS delta
), totals AS (
    SELECT customer_id, sum(delta) AS delta FROM inserted GROUP BY customer_id
)
INSERT INTO {_B} AS b ({_B.columns("customer_id", "shop_id", "balance", "metafield_dirty")},
                      {_B.columns("last_activity_at", "reminded_at")})
SELECT customer_id, %(shop)s, delta, true, %(now)s, NULL FROM totals ORDER BY customer_id
ON CONFLICT ({_B.customer_id}) DO UPDATE
    SET {_B.balance} = b.{_B.balance} + excluded.{_B.balance}, {_B.metafield_dirty} = true,
        {_B.last_activity_at} = excluded.{_B.last_activity_at}, {_B.reminded_at} = NULL
    WHERE b.{_B.shop_id} = %(shop)s
RETURNING b.{_B.customer_id}
"""


def earn_for_imported_events(shop: Shop, import_id: int, first_id: int, last_id: int) -> int:
    """Earn the points of the import's events with ids in [first_id, last_id] (one batch's);
    returns how many customers earned. Never commits."""
    settings = get_settings(shop)
    rules = {name: points for name, points in (settings.event_points or {}).items() if points > 0}
    if not settings.earn_events or not rules or not last_id:
        return 0
    now = utcnow()
    if is_postgresql():
        cursor = driver_cursor()
        params = {
            "shop": shop.id,
            "import": import_id,
            "first": first_id,
            "last": last_id,
            "names": list(rules),
            "points": list(rules.values()),
            "descriptions": [event_description(name)[:255] for name in rules],
            "source": SOURCE,
            "now": now,
        }
        cursor.execute(_EARNINGS_DDL)
        cursor.execute("TRUNCATE event_earnings")
        cursor.execute(_CANDIDATES_SQL, params)
        cursor.execute(_FRESH_SQL, params)
        cursor.execute(_LOCK_SQL, params)
        cursor.execute(_EARN_SQL, params)
        earned = [customer_id for (customer_id,) in cursor.fetchall()]
        for customer_id in earned:
            loaded = db.session.identity_map.get(db.session.identity_key(PointBalance, customer_id))
            if loaded is not None:
                db.session.expire(loaded, ["balance"])
        if earned:
            request_sync(shop.id)
        return len(earned)
    events = db.session.execute(
        select(CustomerEvent.customer_id, CustomerEvent.name, CustomerEvent.event_key)
        .where(
            CustomerEvent.shop_id == shop.id,
            CustomerEvent.import_id == import_id,
            CustomerEvent.id.between(first_id, last_id),
            CustomerEvent.name.in_(list(rules)),
        )
        .order_by(CustomerEvent.id)
    ).all()
    credits = [
        Credit(
            customer_id,
            rules[name],
            SOURCE,
            event_source_key(name, key),
            event_description(name),
        )
        for customer_id, name, key in events
    ]
    return len({credit.customer_id for credit in add_credits(shop, credits, when=now)})
