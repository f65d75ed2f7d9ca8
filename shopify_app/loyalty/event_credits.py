"""Points for the events an import just added, set-based: `earn_for_event` for a million rows.

The rule and its keys are `earning.earn_for_event`'s: the points `event_points` gives the
event's name, once per event (`event:<name>:<key>`, the ledger's source key), so an event
imported again earns nothing. On PostgreSQL one statement joins the new events to the names
that earn and writes the ledger rows and the balances; SQLite goes through `add_credits`.
"""

from __future__ import annotations

from sqlalchemy import select

from shopify_app.loyalty.credits import Credit, add_credits
from shopify_app.loyalty.earning import MAX_KEY, event_description, event_source_key
from shopify_app.loyalty.ledger import touch_balances
from shopify_app.platform.db import TableNames, driver_cursor, is_postgresql
from shopify_app.platform.extensions import db
from shopify_app.platform.models import Customer, CustomerEvent, PointsEntry, Shop
from shopify_app.platform.models.base import utcnow
from shopify_app.program.config import get_settings

SOURCE = "event"
_E, _P, _C = TableNames(CustomerEvent), TableNames(PointsEntry), TableNames(Customer)
#: `event_source_key` in SQL: the plain key when it fits, else the digest of name NUL key.
_KEY = (
    f"CASE WHEN length('event:' || e.{_E.name} || ':' || e.{_E.event_key}) <= {MAX_KEY} "
    f"THEN 'event:' || e.{_E.name} || ':' || e.{_E.event_key} "
    f"ELSE 'event:' || encode(sha256(convert_to(e.{_E.name}, 'UTF8') || '\\x00'::bytea || "
    f"convert_to(e.{_E.event_key}, 'UTF8')), 'hex') END"
)
_EARN_SQL = f"""
WITH earning AS (
    SELECT e.{_E.customer_id} AS customer_id, e.{_E.id} AS event_id, r.points, r.description,
           {_KEY} AS source_key
    FROM {_E} e JOIN unnest(%(names)s::text[], %(points)s::bigint[], %(descriptions)s::text[])
         AS r(name, points, description) ON r.name = e.{_E.name}
    WHERE e.{_E.shop_id} = %(shop)s AND e.{_E.import_id} = %(import)s
      AND e.{_E.id} BETWEEN %(first)s AND %(last)s
), fresh AS (
    SELECT * FROM earning n WHERE NOT EXISTS (
        SELECT 1 FROM {_P} p WHERE p.{_P.shop_id} = %(shop)s AND p.{_P.source_key} = n.source_key)
), locked AS (
    SELECT c.{_C.id} AS id, c.{_C.points_balance} AS balance FROM {_C} c
    WHERE c.{_C.shop_id} = %(shop)s AND c.{_C.id} IN (SELECT customer_id FROM fresh)
    ORDER BY c.{_C.id} FOR NO KEY UPDATE
), inserted AS (
    INSERT INTO {_P} ({_P.columns("shop_id", "customer_id", "delta", "balance_after")},
                      {_P.columns("description", "source", "source_key", "created_at")})
    SELECT %(shop)s, f.customer_id, f.points,
           l.balance + sum(f.points) OVER (PARTITION BY f.customer_id ORDER BY f.event_id),
           f.description, %(source)s, f.source_key, %(now)s
    FROM fresh f JOIN locked l ON l.id = f.customer_id
    ON CONFLICT ({_P.columns("shop_id", "source_key")})
        WHERE {_P.source_key} IS NOT NULL DO NOTHING
    RETURNING {_P.customer_id} AS customer_id, {_P.delta} AS delta
), totals AS (
    SELECT customer_id, sum(delta) AS delta FROM inserted GROUP BY customer_id
)
UPDATE {_C} c SET {_C.points_balance} = c.{_C.points_balance} + t.delta
FROM totals t WHERE c.{_C.id} = t.customer_id AND c.{_C.shop_id} = %(shop)s
RETURNING c.{_C.id}
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
        cursor.execute(
            _EARN_SQL,
            {
                "shop": shop.id,
                "import": import_id,
                "first": first_id,
                "last": last_id,
                "names": list(rules),
                "points": list(rules.values()),
                "descriptions": [event_description(name)[:255] for name in rules],
                "source": SOURCE,
                "now": now,
            },
        )
        earned = sorted(customer_id for (customer_id,) in cursor.fetchall())
        touch_balances(shop.id, earned, now)
        for customer_id in earned:
            loaded = db.session.identity_map.get(db.session.identity_key(Customer, customer_id))
            if loaded is not None:
                db.session.expire(loaded, ["points_balance"])
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
