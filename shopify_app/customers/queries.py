"""The customers table's query: filters (a segment among them), search, sorts and keyset
(cursor) pages.

Pages are keyset pages over (sort key, id), each sort served by a (shop_id, key, id) index,
so the last page of a million customers costs what the first does; OFFSET would read and
discard every row before it. The same filters feed the export and "select all N matching".
Search finds any part of a name or email (a trigram index on PostgreSQL, a scan on SQLite).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    DateTime,
    Integer,
    Row,
    Select,
    bindparam,
    func,
    literal,
    select,
    tuple_,
    type_coerce,
)

from shopify_app.customers.search import (
    MAX_SEARCH_LENGTH,
    NAME_KEY,
    matches_start_only,
    search_conditions,
)
from shopify_app.platform.errors import NotFound
from shopify_app.platform.extensions import db
from shopify_app.platform.models import Customer, PointBalance, Shop
from shopify_app.segments.store import find_segment, membership

PAGE_SIZE = 50
STATUSES = {"all": "All", "members": "Members", "guests": "Guests"}
PROGRAMS = {"any": "Any program status", "joined": "Joined", "not_joined": "Not joined"}

#: a customer's points: the narrow balance table's column (0 where a row is missing).
POINTS = func.coalesce(PointBalance.balance, 0)


@dataclass(frozen=True)
class Sort:
    key: str
    label: str
    column: ColumnElement[Any]
    kind: str  # "int", "str" or "datetime": how a cursor value is decoded
    #: the id that breaks ties, from the same table as `column` so one index serves both
    #: (None: the customer's id).
    id_column: ColumnElement[int] | None = None

    @property
    def tiebreak(self) -> ColumnElement[int]:
        return Customer.id if self.id_column is None else self.id_column


SORTS: dict[str, Sort] = {
    s.key: s
    for s in [
        Sort("date", "Date added", Customer.created_at, "datetime"),
        Sort("name", "Name", NAME_KEY, "str"),
        # Walks point_balances' (shop_id, balance, customer_id) index, joining each customer.
        Sort("points", "Points", PointBalance.balance, "int", PointBalance.customer_id),
        Sort("referrals", "Successful referrals", Customer.successful_referrals, "int"),
        Sort("referrer_revenue", "Referrer revenue", Customer.referrer_revenue_minor, "int"),
        Sort("referee_revenue", "Referee revenue", Customer.referee_revenue_minor, "int"),
    ]
}
DEFAULT_DIRECTION = {"name": "asc"}
#: Each sort's cursor value as the driver returns it (no UTC wrapping: it only goes back to
#: SQL), labelled once, so each page's statement reuses the same column object.
SORT_VALUES = {
    s.key: (type_coerce(s.column, DateTime()) if s.kind == "datetime" else s.column).label(
        "sort_value"
    )
    for s in SORTS.values()
}


class InvalidCursor(ValueError):
    """A page cursor that was not produced by this table (edited or truncated URL)."""


@dataclass(frozen=True)
class TableQuery:
    """The table's state as its query parameters describe it; unknown values fall back."""

    status: str = "all"
    program: str = "any"
    q: str = ""
    #: a segment of the shop: only its members (another shop's id is a 404).
    segment: int | None = None
    sort: str = "date"
    direction: str = "desc"
    after: str | None = None
    before: str | None = None
    last: bool = False

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> TableQuery:
        sort = args.get("sort", "date")
        sort = sort if sort in SORTS else "date"
        direction = args.get("direction") or DEFAULT_DIRECTION.get(sort, "desc")
        if args.get("sorted_by") not in (None, sort):
            # The filter form names the sort it showed: a newly chosen column starts in its
            # natural direction (names A–Z, figures and dates highest first), not the old one's.
            direction = DEFAULT_DIRECTION.get(sort, "desc")
        segment = str(args.get("segment") or "")
        return cls(
            status=args.get("status") if args.get("status") in STATUSES else "all",
            program=args.get("program") if args.get("program") in PROGRAMS else "any",
            q=" ".join((args.get("q") or "").split())[:MAX_SEARCH_LENGTH],
            segment=int(segment) if segment.isdigit() and len(segment) < 10 else None,
            sort=sort,
            direction=direction if direction in {"asc", "desc"} else "desc",
            after=args.get("after") or None,
            before=args.get("before") or None,
            last=args.get("last") == "1",
        )

    def filter_args(self) -> dict[str, str]:
        """Filters, search and sort (not the page): what links, forms and exports carry."""
        args = {"status": self.status, "program": self.program, "q": self.q, "sort": self.sort}
        args["direction"] = self.direction
        args["segment"] = str(self.segment) if self.segment is not None else ""
        defaults = {"status": "all", "program": "any", "q": "", "sort": "date", "segment": ""}
        defaults["direction"] = DEFAULT_DIRECTION.get(self.sort, "desc")
        return {k: v for k, v in args.items() if v != defaults[k]}

    @property
    def prefix_search(self) -> bool:
        """A search too short for trigrams, so it matches only the start (the page says so)."""
        return matches_start_only(self.q)

    def first_page(self) -> TableQuery:
        return replace(self, after=None, before=None, last=False)


def filter_conditions(
    shop: Shop, query: TableQuery, *, per_row: bool = False, shop_key: Any = None
) -> list[ColumnElement[bool]]:
    """The table's WHERE; `per_row` shapes a dynamic segment for one keyset page.

    Args:
        shop_key: what stands for the shop's id (a bound parameter in a reused statement).
    """
    shop_key = shop.id if shop_key is None else shop_key
    conditions: list[ColumnElement[bool]] = [
        Customer.shop_id == shop_key,
        Customer.deleted_at.is_(None),
        Customer.redacted_at.is_(None),
    ]
    if query.status == "members":
        conditions.append(Customer.is_member.is_(True))
    elif query.status == "guests":
        conditions.append(Customer.is_member.is_(False))
    if query.program == "joined":
        conditions.append(Customer.joined_at.is_not(None))
    elif query.program == "not_joined":
        conditions.append(Customer.joined_at.is_(None))
    search = search_conditions(query.q)
    if search is not None:
        conditions.append(search)
    if query.segment is not None:
        segment = find_segment(shop, query.segment)
        if segment is None:
            raise NotFound("segment not found")
        conditions.append(membership(shop, segment, per_row=per_row).condition)
    return conditions


def matching_customer_ids(shop: Shop, args: Mapping[str, str]) -> Select:
    """Ids of the shop's customers matching the table's filters (status, program, q, segment).

    Used for "select all N matching": the caller runs or embeds the select.
    """
    return select(Customer.id).where(*filter_conditions(shop, TableQuery.from_args(args)))


def count_matching(shop: Shop, query: TableQuery) -> int:
    return db.session.execute(
        select(func.count()).select_from(Customer).where(*filter_conditions(shop, query))
    ).scalar_one()


@dataclass(slots=True)
class CustomerRow:
    """One table row, plain data for the template and the export.

    Built positionally from ROW_COLUMNS (same order, then the sort value). Not frozen: a
    frozen dataclass sets each field through object.__setattr__, which made building a
    page's rows cost more than running its query.
    """

    id: int
    shopify_id: int | None
    first_name: str
    last_name: str
    email: str | None
    is_member: bool
    joined_at: datetime | None
    referral_code: str | None
    total_referees: int
    successful_referrals: int
    referrer_revenue_minor: int
    referee_revenue_minor: int
    points_balance: int
    created_at: datetime
    sort_value: Any = field(repr=False, default=None)

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def display_name(self) -> str:
        return self.name or self.email or f"Customer {self.id}"

    @property
    def referral_revenue_minor(self) -> int:
        return self.referrer_revenue_minor + self.referee_revenue_minor


ROW_COLUMNS = (
    Customer.id,
    Customer.shopify_id,
    Customer.first_name,
    Customer.last_name,
    Customer.email,
    Customer.is_member,
    Customer.joined_at,
    Customer.referral_code,
    Customer.total_referees,
    Customer.successful_referrals,
    Customer.referrer_revenue_minor,
    Customer.referee_revenue_minor,
    POINTS.label("points_balance"),
    Customer.created_at,
)


def encode_cursor(sort: Sort, value: Any, id_: int) -> str:
    if isinstance(value, datetime):
        value = value.isoformat()
    raw = json.dumps([value, id_], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(sort: Sort, cursor: str) -> tuple[Any, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value, id_ = json.loads(raw)
        if not isinstance(id_, int):
            raise TypeError("id")
        if sort.kind == "datetime":
            value = datetime.fromisoformat(value)
        elif sort.kind == "int" and not isinstance(value, int):
            raise TypeError("value")
        elif sort.kind == "str" and not isinstance(value, str):
            raise TypeError("value")
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError) as error:
        raise InvalidCursor(cursor) from error
    return value, id_


@dataclass(frozen=True)
class Page:
    rows: list[CustomerRow]
    query: TableQuery
    next_cursor: str | None
    prev_cursor: str | None

    @property
    def is_first(self) -> bool:
        return self.prev_cursor is None

    @property
    def is_last(self) -> bool:
        return self.next_cursor is None


def sort_order(query: TableQuery, *, reverse: bool = False) -> list[ColumnElement[Any]]:
    """ORDER BY for the table's sort: the key, then the id, both in the same direction."""
    descending = (query.direction == "desc") != reverse
    sort = SORTS[query.sort]
    keys = (sort.column, sort.tiebreak)
    return [k.desc() if descending else k.asc() for k in keys]


def with_balances(stmt: Select, shop: Shop, query: TableQuery, shop_key: Any = None) -> Select:
    """The statement over customers joined to their balances.

    Sorting by points needs the balance row (every customer has one) and walks its index;
    other sorts keep the customers index and look each page's balances up.
    """
    on = PointBalance.customer_id == Customer.id
    if query.sort == "points":
        key = shop.id if shop_key is None else shop_key
        return stmt.join(PointBalance, on).where(PointBalance.shop_id == key)
    return stmt.outerjoin(PointBalance, on)


def _ordered(
    shop: Shop,
    query: TableQuery,
    *,
    reverse: bool,
    columns: tuple = ROW_COLUMNS,
    per_row: bool = False,
    shop_key: Any = None,
) -> tuple[Select, Sort]:
    sort = SORTS[query.sort]
    order = sort_order(query, reverse=reverse)
    stmt = select(*columns, SORT_VALUES[sort.key]).select_from(Customer)
    stmt = with_balances(stmt, shop, query, shop_key)
    conditions = filter_conditions(shop, query, per_row=per_row, shop_key=shop_key)
    return stmt.where(*conditions).order_by(*order), sort


def _past(stmt: Select, sort: Sort, value: Any, row_id: Any, descending: bool) -> Select:
    """The rows after (value, row_id) in the page's order; the two are SQL expressions."""
    key = tuple_(sort.column, sort.tiebreak)
    bound = tuple_(value, row_id)
    return stmt.where(key < bound if descending else key > bound)


def _after(stmt: Select, sort: Sort, cursor: tuple[Any, int], descending: bool) -> Select:
    value = literal(cursor[0], type_=sort.column.type)
    return _past(stmt, sort, value, literal(cursor[1]), descending)


#: The shop's id in a reused page statement: required, so a page is never read without it.
SHOP_ID = bindparam("shop_id", type_=Integer, required=True)
#: Page statements of the plain filters (no search, no segment), one per shape, the shop and
#: the cursor bound at execution. Building the statement and adapting a new one to its cached
#: compilation cost a page more than its SQL (bench/bench_pages.py prints both).
_PAGE_STATEMENTS: dict[tuple[Any, ...], tuple[Select, Sort]] = {}


def _page_statement(
    shop: Shop, query: TableQuery, *, backwards: bool, after: bool, limit: int
) -> tuple[Select, Sort]:
    """The reusable statement for a page of this shape (filters, sort, direction, cursor)."""
    shape = (query.status, query.program, query.sort, query.direction, backwards, after, limit)
    if shape not in _PAGE_STATEMENTS:
        stmt, sort = _ordered(shop, query, reverse=backwards, per_row=True, shop_key=SHOP_ID)
        if after:
            value = bindparam("after_value", type_=sort.column.type, required=True)
            row_id = bindparam("after_id", type_=Integer, required=True)
            descending = (query.direction == "desc") != backwards
            stmt = _past(stmt, sort, value, row_id, descending)
        _PAGE_STATEMENTS[shape] = (stmt.limit(limit), sort)
    return _PAGE_STATEMENTS[shape]


def _page_rows(shop: Shop, query: TableQuery, backwards: bool, limit: int) -> tuple[list, Sort]:
    """The page's rows (page_size + 1 of them, to know whether more follow) and its sort."""
    cursor_text = query.before if backwards else query.after
    if query.q or query.segment is not None:
        stmt, sort = _ordered(shop, query, reverse=backwards, per_row=True)
        descending = (query.direction == "desc") != backwards
        if cursor_text:
            stmt = _after(stmt, sort, decode_cursor(sort, cursor_text), descending)
        return db.session.execute(stmt.limit(limit)).all(), sort
    stmt, sort = _page_statement(
        shop, query, backwards=backwards, after=bool(cursor_text), limit=limit
    )
    params: dict[str, Any] = {"shop_id": shop.id}
    if cursor_text:
        params["after_value"], params["after_id"] = decode_cursor(sort, cursor_text)
    # Core, not the ORM: the rows are plain tuples either way, and the statement names its
    # shop itself (a required parameter), so the tenant net would add nothing but its cost.
    return db.session.connection().execute(stmt, params).all(), sort


def customer_page(shop: Shop, query: TableQuery, page_size: int = PAGE_SIZE) -> Page:
    """One page of the table; `after`/`before` cursors or `last` pick which.

    Going backwards (before a cursor, or the last page) reads the index in reverse and flips
    the rows, so every page is one index range scan of page_size + 1 rows.
    """
    backwards = query.before is not None or (query.last and query.after is None)
    fetched, sort = _page_rows(shop, query, backwards, page_size + 1)
    more = len(fetched) > page_size
    rows = [CustomerRow(*row) for row in fetched[:page_size]]
    if backwards:
        rows.reverse()
    first, last = (rows[0], rows[-1]) if rows else (None, None)

    def cursor(row: CustomerRow | None) -> str | None:
        return encode_cursor(sort, row.sort_value, row.id) if row else None

    if backwards:
        has_prev, has_next = more, query.before is not None
    else:
        has_prev, has_next = query.after is not None, more
    return Page(
        rows=rows,
        query=query,
        next_cursor=cursor(last) if has_next else None,
        prev_cursor=cursor(first) if has_prev else None,
    )


def iter_row_batches(
    shop: Shop, query: TableQuery, columns: tuple, batch: int = 10_000
) -> Iterator[list[Row]]:
    """Every matching row in table order, a keyset batch at a time (constant memory).

    Rows are plain tuples of `columns` (plus the sort value), read on the Core connection:
    the export formats a million of them, so it skips building objects.
    """
    stmt, sort = _ordered(shop, query.first_page(), reverse=False, columns=columns)
    descending = query.direction == "desc"
    cursor: tuple[Any, int] | None = None
    connection = db.session.connection()
    while True:
        page = stmt if cursor is None else _after(stmt, sort, cursor, descending)
        rows = connection.execute(page.limit(batch)).all()
        if rows:
            yield rows
        if len(rows) < batch:
            return
        cursor = (rows[-1].sort_value, rows[-1].id)
