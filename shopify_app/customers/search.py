"""The customers table's search: any part of a name or email, the same in the table, its
count, "select all N matching", invitations and the export (they all take these conditions).
"""

from __future__ import annotations

import re

from sqlalchemy import ColumnElement, func, literal, literal_column

from shopify_app.platform.db import is_postgresql, like_escaped
from shopify_app.platform.models import Customer

MAX_SEARCH_LENGTH = 100

#: lower(trim(first || ' ' || last)): the name the table sorts and searches on; the
#: migration indexes this exact expression.
NAME_KEY = func.lower(
    func.trim(Customer.first_name.op("||")(literal_column("' '")).op("||")(Customer.last_name))
)
#: The name, a newline, the email: what PostgreSQL's trigram index holds (models.customer
#: SEARCH_KEY), written with constants, not parameters, so the planner matches the index.
SEARCH_KEY = NAME_KEY.op("||")(func.chr(literal_column("10"))).op("||")(
    func.coalesce(Customer.email_key, literal_column("''"))
)
#: Three letters or digits in a row: the least a trigram index can look up. A shorter search
#: ("al", "o'b") would read the whole index, so it matches the start of names and emails.
TRIGRAM = re.compile(r"[^\W_]{3}")


def search_conditions(q: str) -> ColumnElement[bool] | None:
    """Case-insensitive match of any part of the full name or the email ("nna" finds Anna).

    A search without three letters or digits in a row matches the start of the full name,
    the last name or the email instead, through the prefix indexes. On PostgreSQL the
    infix match is one LIKE on SEARCH_KEY, which the trigram index serves; SQLite has no
    such index and scans the shop's customers.
    """
    text = q.strip().lower()
    if not text:
        return None
    escaped = like_escaped(text)
    if TRIGRAM.search(text) is None:
        # Inlined, so PostgreSQL sees the constant prefix and uses the pattern indexes even
        # when the statement is prepared.
        prefix = literal(escaped + "%", literal_execute=True)
        return (
            NAME_KEY.like(prefix, escape="\\")
            | func.lower(Customer.last_name).like(prefix, escape="\\")
            | Customer.email_key.like(prefix, escape="\\")
        )
    # Inlined too: the planner estimates how many rows match from the pattern itself, and
    # picks the trigram index for a rare fragment, the sort's index for a common one.
    infix = literal(f"%{escaped}%", literal_execute=True)
    if is_postgresql():
        return SEARCH_KEY.like(infix, escape="\\")
    # Any part of the last name is a part of the full name.
    return NAME_KEY.like(infix, escape="\\") | Customer.email_key.like(infix, escape="\\")


def matches_start_only(q: str) -> bool:
    """Whether this search can only match the start of names and emails (no trigram in it)."""
    return bool(q) and TRIGRAM.search(q.lower()) is None
