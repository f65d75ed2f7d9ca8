"""Sweeps: accepted work that is not done (never queued, or its worker died) is queued again.

A capability states its sweep as data, a `Sweep`: which rows of a model wait (`Waiting`: a
state, stale since a column by a grace or lease, with backoff after failed attempts), how one
is queued again, and, where the sweep itself counts attempts, when it gives up and in what
state. `run` implements that once, as one set-based query. Capabilities register their sweeps
with `on_sweep` in their `init_app` (as an install's work registers with
`shops.on_installed`) and the worker's sweeper runs `registered(app)`, so the platform names
no capability and the worker imports none of them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import Row, and_, false, or_, select, update
from sqlalchemy.sql.elements import ColumnElement

from shopify_app.platform.extensions import db
from shopify_app.platform.models.base import utcnow
from shopify_app.platform.retry import RetryPolicy

log = logging.getLogger(__name__)
#: app.extensions key of the sweeps the worker runs.
SWEEPS = "sweeps"
#: how often a sweep re-drives one piece of work before it is left failed.
MAX_ATTEMPTS = 8


def on_sweep(app: Flask, sweep: Callable[[], object]) -> None:
    """Have the worker's sweeper run `sweep()` every interval (capabilities register theirs)."""
    app.extensions.setdefault(SWEEPS, []).append(sweep)


def registered(app: Flask) -> list[Callable[[], object]]:
    """The app's sweeps, in the order `create_app` registered them (none depends on another)."""
    return list(app.extensions.get(SWEEPS, []))


@dataclass(frozen=True)
class Waiting:
    """Rows matching `where` that waited long enough to be presumed lost.

    Long enough: `since` is older than `after` (a grace for work never queued, a lease for a
    worker gone silent; a callable reads a setting when the sweep runs), and with `backoff`,
    the policy's wait for the attempts so far has passed since `since` (no attempt yet, or no
    `since`, waits nothing).
    """

    where: ColumnElement[bool]
    since: Any = None
    after: timedelta | Callable[[], timedelta] | None = None
    backoff: RetryPolicy | None = None

    def clause(self, now: datetime, attempts: Any) -> ColumnElement[bool]:
        parts = [self.where]
        if self.after is not None:
            after = self.after() if callable(self.after) else self.after
            parts.append(self.since < now - after)
        if self.backoff is not None:
            parts.append(_backed_off(self.backoff, attempts, self.since, now))
        return and_(*parts)


def _backed_off(policy: RetryPolicy, attempts: Any, since: Any, now: datetime) -> ColumnElement:
    """`since + policy.wait(attempts) <= now` as portable SQL: one bound time per attempt count
    until the wait reaches its cap (no interval arithmetic, which SQLite lacks)."""
    cases = [attempts <= 0, since.is_(None)]
    n = 1
    while policy.delay(n) < policy.max_delay:
        cases.append(and_(attempts == n, since <= now - policy.wait(n)))
        n += 1
    cases.append(and_(attempts >= n, since <= now - policy.wait(n)))
    return or_(*cases)


@dataclass(frozen=True)
class GiveUp:
    """The sweep counts an attempt each time it queues a row; at `after` attempts a waiting
    row is set to `values` (a failed state its page shows) instead of queued again."""

    after: int
    values: Mapping[str, Any]


@dataclass(frozen=True)
class Sweep:
    """Rows of `model` in any of `waiting` are queued again with `requeue(row)`.

    `requeue` gets a row of `key` (the model's id, or the parent the job takes), `reads` and
    `attempts`; it returns whether Redis took the job. `attempts` is the column counting tries
    (read for backoff; counted by the sweep only with `give_up`, else by the job). `unless`
    leaves a row alone on a sign of life the database does not hold: a lock a live worker
    keeps, or its job still waiting in Redis.
    """

    model: type
    waiting: tuple[Waiting, ...]
    requeue: Callable[[Row[Any]], bool]
    key: Any = None
    reads: tuple[Any, ...] = ()
    attempts: Any = None
    give_up: GiveUp | None = None
    unless: Callable[[Row[Any]], bool] | None = None
    distinct: bool = False
    limit: int | None = None


def run(sweep: Sweep) -> int:
    """Queue what the sweep finds waiting; returns how many jobs Redis took. Commits.

    With `give_up`, rows out of attempts are failed first, and each row queued has its
    attempt counted and its `since` set to now, so the job gets a whole lease before the next
    sweep judges it; the count is taken only if the row still waits (a conditional UPDATE).
    """
    model = sweep.model
    key = sweep.key if sweep.key is not None else model.id
    now = utcnow()
    waiting = or_(false(), *(w.clause(now, sweep.attempts) for w in sweep.waiting))
    if sweep.give_up is not None:
        given_up = db.session.execute(
            update(model)
            .where(waiting, sweep.attempts >= sweep.give_up.after)
            .values(**sweep.give_up.values)
            .execution_options(synchronize_session=False)
        ).rowcount
        if given_up:
            log.warning(
                "%s: gave up on %s after %s attempts", model.__name__, given_up, sweep.give_up.after
            )
        waiting = and_(waiting, sweep.attempts < sweep.give_up.after)
    columns = _distinct([key, *sweep.reads, sweep.attempts])
    query = select(*columns).where(waiting).order_by(key)
    if sweep.distinct:
        query = query.distinct()
    if sweep.limit is not None:
        query = query.limit(sweep.limit)
    rows = db.session.execute(query).all()
    db.session.commit()
    if sweep.unless is not None:
        rows = [row for row in rows if not sweep.unless(row)]
    if sweep.give_up is not None and rows:
        restarted = {column: now for column in _distinct([w.since for w in sweep.waiting])}
        rows = db.session.execute(
            update(model)
            .where(key.in_([row[0] for row in rows]), waiting)
            .values({sweep.attempts: sweep.attempts + 1, **restarted})
            .returning(*columns)
            .execution_options(synchronize_session=False)
        ).all()
        db.session.commit()
        rows.sort(key=lambda row: row[0])
    return sum(bool(sweep.requeue(row)) for row in rows)


def _distinct(columns: list[Any]) -> list[Any]:
    """The columns without None or repeats, by identity (`==` on a column builds SQL)."""
    seen: list[Any] = []
    for column in columns:
        if column is not None and not any(column is other for other in seen):
            seen.append(column)
    return seen
