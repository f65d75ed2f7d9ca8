"""The referral program CSV: one row per customer, streamed, safe to open in a spreadsheet.

UTF-8 with a BOM so Excel detects the encoding; text cells that a spreadsheet would run as a
formula are prefixed with an apostrophe (OWASP's CSV injection advice). Small exports stream
straight to the browser; large ones are written by a worker (customers/export_jobs.py).
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import (
    ColumnElement,
    DateTime,
    Numeric,
    Row,
    Text,
    case,
    cast,
    func,
    literal,
    literal_column,
    select,
    type_coerce,
)
from sqlalchemy.dialects.postgresql.base import PGDialect

from shopify_app.customers.queries import (
    POINTS,
    TableQuery,
    count_matching,
    filter_conditions,
    iter_row_batches,
    sort_order,
    with_balances,
)
from shopify_app.platform.db import is_postgresql
from shopify_app.platform.extensions import db
from shopify_app.platform.models import Customer, ExportJob, Shop
from shopify_app.platform.money import decimal_text, exponent
from shopify_app.platform.shops import lock_shop
from shopify_app.platform.spreadsheet import FORMULA_PREFIXES, neutralise
from shopify_app.privacy.erasure import drop_export_rows

BOM = "\ufeff"
#: what is trimmed from "first last" (in Python and in SQL alike).
TRIMMED = " \t\r\n"
ROWS_PER_CHUNK = 2000
COPY_FLUSH_BYTES = 256 * 1024
#: above this many rows (setting EXPORT_STREAM_MAX_ROWS) the export runs as a job.
STREAM_MAX_ROWS = 100_000


def header(shop: Shop) -> list[str]:
    money = f"({shop.currency})"
    return [
        "Customer ID",
        "Shopify customer ID",
        "Name",
        "Email",
        "Shopify status",
        "Program status",
        "Joined at",
        "Referral link",
        "Total referees",
        "Successful referrals",
        f"Referral revenue {money}",
        f"Referrer revenue {money}",
        f"Referee revenue {money}",
        "Points",
    ]


#: what a CSV row needs, read raw (joined_at without the UTC wrapper: only its date is shown).
EXPORT_COLUMNS = (
    Customer.id,
    Customer.shopify_id,
    Customer.first_name,
    Customer.last_name,
    Customer.email,
    Customer.is_member,
    type_coerce(Customer.joined_at, DateTime()).label("joined_at"),
    Customer.referral_code,
    Customer.total_referees,
    Customer.successful_referrals,
    Customer.referrer_revenue_minor,
    Customer.referee_revenue_minor,
    POINTS,
)


def _rows(batch: list[Row], link_prefix: str, digits: int) -> Iterator[list]:
    """CSV cells per row; the hot loop of a million-row export, so formatting is inlined."""
    money = decimal_text
    for row in batch:
        id_, shopify_id, first, last, email, member, joined, code = row[:8]
        total, done, rr, re, points = row[8:13]
        name = f"{first} {last}".strip(TRIMMED)
        yield [
            id_,
            shopify_id or "",
            "'" + name if name.startswith(FORMULA_PREFIXES) else name,
            "'" + email if email and email.startswith(FORMULA_PREFIXES) else email or "",
            "Member" if member else "Guest",
            "Joined" if joined else "Not joined",
            joined.strftime("%Y-%m-%d") if joined else "",
            neutralise(link_prefix + code) if code else "",
            total,
            done,
            money(rr + re, digits),
            money(rr, digits),
            money(re, digits),
            points,
        ]


def csv_chunks(
    shop: Shop, query: TableQuery, *, on_rows: Callable[[int], None] | None = None
) -> Iterator[bytes]:
    """The CSV as UTF-8 byte chunks, in constant memory.

    On PostgreSQL the rows come from `COPY (SELECT …) TO STDOUT`, formatted by the database,
    which is several times faster than formatting a million rows in Python; elsewhere (the
    SQLite demo) Python formats keyset batches. Both produce the same bytes (tested).

    Args:
        on_rows: called with the running row count as rows go out (progress for jobs).
    """
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(header(shop))
    yield (BOM + buffer.getvalue()).encode("utf-8")
    if is_postgresql():
        yield from copy_chunks(shop, query, on_rows)
    else:
        yield from python_chunks(shop, query, on_rows)


def python_chunks(
    shop: Shop, query: TableQuery, on_rows: Callable[[int], None] | None = None
) -> Iterator[bytes]:
    """The CSV rows formatted in Python from keyset batches (any database)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    link_prefix = f"https://{shop.domain}/apps/referrals/r/"
    digits = exponent(shop.currency)
    done = 0
    for batch in iter_row_batches(shop, query, EXPORT_COLUMNS):
        for start in range(0, len(batch), ROWS_PER_CHUNK):
            chunk = batch[start : start + ROWS_PER_CHUNK]
            writer.writerows(_rows(chunk, link_prefix, digits))
            done += len(chunk)
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
            if on_rows is not None:
                on_rows(done)


def _inert(text: ColumnElement[str]) -> ColumnElement[str]:
    """SQL twin of neutralise()."""
    first = func.substr(text, 1, 1)
    dangerous = first.in_(["=", "+", "-", "@", "\t", "\r"])
    return case((dangerous, literal("'").op("||")(text)), else_=text)


def _money_sql(column: ColumnElement[int], digits: int) -> ColumnElement[str]:
    """SQL twin of money.decimal_text(): exact numeric division, printed with `digits` decimals."""
    if digits == 0:
        return cast(column, Text)
    return cast(func.round(cast(column, Numeric) / 10**digits, digits), Text)


#: PostgreSQL's SQL without a driver's parameter style: COPY's text takes no parameters.
COPY_DIALECT = PGDialect(paramstyle="named")


def copy_statement(shop: Shop, query: TableQuery) -> str:
    """The table's query as CSV cells in SQL, with literal values, for COPY (PostgreSQL)."""
    digits = exponent(shop.currency)
    full = Customer.first_name.op("||")(literal_column("' '")).op("||")(Customer.last_name)
    name = func.btrim(full, literal(TRIMMED))
    link = literal(f"https://{shop.domain}/apps/referrals/r/").op("||")(Customer.referral_code)
    cells = select(
        Customer.id,
        Customer.shopify_id,
        func.nullif(_inert(name), ""),
        func.nullif(_inert(Customer.email), ""),
        case((Customer.is_member, "Member"), else_="Guest"),
        case((Customer.joined_at.is_not(None), "Joined"), else_="Not joined"),
        func.to_char(Customer.joined_at, "YYYY-MM-DD"),
        _inert(link),
        Customer.total_referees,
        Customer.successful_referrals,
        _money_sql(Customer.referrer_revenue_minor + Customer.referee_revenue_minor, digits),
        _money_sql(Customer.referrer_revenue_minor, digits),
        _money_sql(Customer.referee_revenue_minor, digits),
        POINTS,
    ).select_from(Customer)
    cells = (
        with_balances(cells, shop, query)
        .where(*filter_conditions(shop, query))
        .order_by(*sort_order(query))
    )
    # COPY sends the text as it is, so no pyformat doubling of % (which LIKE would read as
    # two wildcards: a search for "100%ff" would find "100%off").
    return str(cells.compile(dialect=COPY_DIALECT, compile_kwargs={"literal_binds": True}))


def copy_chunks(
    shop: Shop, query: TableQuery, on_rows: Callable[[int], None] | None = None
) -> Iterator[bytes]:
    """The CSV rows as PostgreSQL's COPY writes them, regrouped into larger chunks."""
    sql = copy_statement(shop, query)
    cursor = db.session.connection().connection.dbapi_connection.cursor()
    pending, rows = bytearray(), 0
    with cursor.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)") as copy:
        for data in copy:  # one message per row
            pending += data
            rows += 1
            if len(pending) >= COPY_FLUSH_BYTES:
                yield bytes(pending)
                pending.clear()
                if on_rows is not None:
                    on_rows(rows)
    if pending:
        yield bytes(pending)
    if on_rows is not None:
        on_rows(rows)


def export_filename(shop: Shop, when: datetime) -> str:
    return f"referral-program-{shop.handle}-{when:%Y%m%d-%H%M}.csv"


def needs_job(shop: Shop, query: TableQuery, stream_limit: int) -> tuple[bool, int]:
    """(True, n) when n matching rows are too many to stream within one request."""
    total = count_matching(shop, query)
    return total > stream_limit, total


def create_export_job(shop: Shop, args: Mapping[str, str], total: int) -> ExportJob:
    """Record the export with the table's filters; the caller commits and enqueues it."""
    query = TableQuery.from_args(args)
    job = ExportJob(shop_id=shop.id, params=query.filter_args(), total_rows=total)
    db.session.add(job)
    db.session.flush()
    return job


def write_export_file(
    shop: Shop, job: ExportJob, path: Path, on_rows: Callable[[int], None]
) -> int:
    """Write the job's CSV to `path` (the job's partial file; it is renamed once complete)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = 0

    def count(done: int) -> None:
        nonlocal rows
        rows = done
        on_rows(done)

    with open(path, "wb") as out:
        for chunk in csv_chunks(shop, TableQuery.from_args(job.params or {}), on_rows=count):
            out.write(chunk)
    return rows


def publish_export_file(shop: Shop, partial: Path, path: Path, started_at: datetime) -> int | None:
    """Rename a complete export into place, leaving out customers erased while it was written.

    The shop row is locked first: an erasure locks it too, so either it finished before
    (its customer is left out here) or it starts after and finds this file in place. Returns
    how many rows were left out, or None when the shop itself was erased meanwhile.
    """
    if lock_shop(shop) is None:
        partial.unlink(missing_ok=True)
        return None
    # The export's query already left out customers erased before it started (a margin for
    # the clocks of the web and worker machines).
    since = started_at - timedelta(minutes=5)
    erased = db.session.scalars(
        select(Customer.id).where(Customer.shop_id == shop.id, Customer.redacted_at >= since)
    ).all()
    dropped = drop_export_rows(partial, erased) if erased else 0
    os.replace(partial, path)
    return dropped
