"""Shops are tenants: inside a shop's scope no ORM query can reach another shop's rows.

Every model with a `shop_id` is `ShopOwned`. Once a request's guard has verified its shop (or a
job has loaded the row that names its shop), `enter_shop(shop_id)` scopes the session: every ORM
SELECT, UPDATE and DELETE of a shop-owned model then carries `shop_id = <that shop>`, joins,
relationship loads and subqueries included (SQLAlchemy's `with_loader_criteria`). Code still
says `Model.shop_id == shop.id` where it means it; the scope is the net under it, so a query that
forgets its shop returns this shop's rows and no other's. Core statements on a bare `Table`
(bulk `executemany`, COPY) are not ORM statements and stay as written.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask
from sqlalchemy import event, select
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria

from shopify_app.platform.extensions import db
from shopify_app.platform.models.base import ShopOwned

SHOP_KEY = "tenant_shop_id"


def enter_shop(shop_id: int) -> None:
    """Scope the session to one shop until it is closed (the end of the request or job)."""
    session = db.session()
    current = session.info.get(SHOP_KEY)
    if current is not None and current != shop_id:
        raise RuntimeError(f"session is scoped to shop {current}, not {shop_id}")
    session.info[SHOP_KEY] = shop_id


@contextmanager
def shop_scope(shop_id: int) -> Iterator[None]:
    """Scope the session to one shop for the block (a job's unit of work)."""
    session = db.session()
    previous = session.info.get(SHOP_KEY)
    if previous is not None and previous != shop_id:
        raise RuntimeError(f"session is scoped to shop {previous}, not {shop_id}")
    session.info[SHOP_KEY] = shop_id
    try:
        yield
    finally:
        if previous is None:
            session.info.pop(SHOP_KEY, None)


def leave_shop(_error: BaseException | None = None) -> None:
    """End the scope (after each request: the session may outlive it, as in tests)."""
    db.session().info.pop(SHOP_KEY, None)


def init_app(app: Flask) -> None:
    app.teardown_request(leave_shop)


def owner_shop(model: type[Any], row_id: int) -> int | None:
    """The shop a row belongs to (a Shop is its own), or None when the row is gone."""
    if not issubclass(model, ShopOwned):  # the Shop itself
        return row_id if db.session.get(model, row_id) is not None else None
    return db.session.execute(select(model.shop_id).where(model.id == row_id)).scalar_one_or_none()


def scoped_shop() -> int | None:
    """The shop the session is scoped to, if any."""
    return db.session().info.get(SHOP_KEY)


@event.listens_for(Session, "do_orm_execute")
def _limit_to_shop(state: ORMExecuteState) -> None:
    shop_id = state.session.info.get(SHOP_KEY)
    if shop_id is None or not (state.is_select or state.is_update or state.is_delete):
        return
    if state.is_column_load:
        return  # a refresh of a row already loaded within the scope
    state.statement = state.statement.options(
        with_loader_criteria(
            ShopOwned,
            lambda cls: cls.shop_id == shop_id,
            include_aliases=True,
            track_closure_variables=True,
        )
    )
