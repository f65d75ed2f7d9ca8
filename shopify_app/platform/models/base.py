"""Declarative base with a constraint naming convention, so migrations are deterministic."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Integer, MetaData, String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, registry
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """Timezone-aware now; every stored time is UTC."""
    return datetime.now(UTC)


#: 64-bit keys for the big tables; SQLite only autoincrements an INTEGER PRIMARY KEY.
BigIntegerPK = BigInteger().with_variant(Integer, "sqlite")


def byte_ordered(length: int) -> String:
    """A string PostgreSQL compares byte by byte (collation "C"), for keys and names that are
    matched and never sorted for a reader's eyes.

    The database's own collation compares through the C library's `strcoll`: on the events
    table's two text indexes that was a fifth of an import's insert time.
    """
    return String(length).with_variant(String(length, collation="C"), "postgresql")


class UTCDateTime(TypeDecorator):
    """Stores naive UTC and returns aware UTC, so SQLite and PostgreSQL compare alike."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None else None


class IndexExpression(ColumnElement[Any]):
    """The SQL of an expression index, stated for each database the way that database states it.

    PostgreSQL keeps an index expression in its own canonical form (casts, parentheses,
    `TRIM(BOTH FROM …)`) and autogenerate compares that text with the model's, so an expression
    PostgreSQL rewrites is also given in PostgreSQL's words, or `flask db migrate` would propose
    rebuilding the index. `key` names the expression for `postgresql_ops`.
    """

    inherit_cache = True
    _traverse_internals = [
        ("sql", InternalTraversal.dp_string),
        ("postgresql", InternalTraversal.dp_string),
        ("key", InternalTraversal.dp_string),
    ]

    def __init__(self, sql: str, *, postgresql: str | None = None, key: str | None = None):
        self.sql = sql
        self.postgresql = postgresql or sql
        self.key = key


@compiles(IndexExpression)
def _compile_index_expression(element: IndexExpression, compiler, **kw) -> str:
    return element.sql


@compiles(IndexExpression, "postgresql")
def _compile_index_expression_postgresql(element: IndexExpression, compiler, **kw) -> str:
    return element.postgresql


class Base(DeclarativeBase):
    registry = registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: UTCDateTime()},
    )


class ShopOwned:
    """A model whose rows belong to one shop; see `platform.tenancy`.

    Each model declares its own `shop_id` (its foreign key, index and nullability); this one
    only gives the tenant rule a column to be stated on once, for all of them.
    """

    shop_id: Mapped[int] = mapped_column()


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
