"""Customer search finds any part of a name or email, the same way in the table, "select all
N matching" and the export; % and _ match themselves, and short searches match the start."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql.base import PGDialect

from shopify_app.customers import queries as table
from shopify_app.customers import search
from shopify_app.platform.extensions import db
from shopify_app.platform.models import Customer
from tests.factories import T0, make_customer
from tests.helpers import make_shop

PEOPLE = [
    ("Anna", "Lindqvist", "anna.l@example.com"),
    ("Joe", "McAllister", "joe@shop.example.org"),
    ("Sam", "Percent", "100%off@deals.test"),
    ("Nnamdi", "Okoro", "nn_ok@mail.test"),
    ("Nora", "Bloom", "nnxok@mail.test"),
    ("", "", "only.an.email@contacts.test"),
]


@pytest.fixture
def people(shop, shopify_double):
    for first, last, email in PEOPLE:
        make_customer(shop, first_name=first, last_name=last, email=email)
    make_customer(shop, first_name="Anna", last_name="Gone", email="gone@ex.test", deleted_at=T0)
    other = make_shop(shopify_double, "other-shop.myshopify.com")
    make_customer(other, first_name="Anna", last_name="Theirs", email="anna@example.com")
    db.session.commit()
    return shop


def _label(customer_id: int) -> str:
    c = db.session.get(Customer, customer_id)
    return f"{c.first_name} {c.last_name}".strip() or c.email


def found(admin, shop, q: str) -> set[str]:
    """Who the search finds, asserted to be the same in the table, its count, "select all N
    matching" (which the invitations use) and the CSV export."""
    query = table.TableQuery.from_args({"q": q})
    page = {_label(r.id) for r in table.customer_page(shop, query, page_size=100).rows}
    matching = db.session.execute(table.matching_customer_ids(shop, {"q": q})).scalars().all()
    assert {_label(i) for i in matching} == page
    assert table.count_matching(shop, query) == len(page)
    body = admin.get("/customers/export.csv", query_string={"q": q}).get_data()
    rows = csv.DictReader(io.StringIO(body.decode("utf-8-sig"), newline=""))
    assert {r["Name"] or r["Email"] for r in rows} == page
    return page


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("nna", {"Anna Lindqvist", "Nnamdi Okoro"}),  # the middle of a first name
        ("ANNA", {"Anna Lindqvist"}),  # any case; not the deleted Anna, nor another shop's
        ("allis", {"Joe McAllister"}),  # the middle of a last name
        ("dqvist", {"Anna Lindqvist"}),  # its end
        ("a lind", {"Anna Lindqvist"}),  # across first and last name
        ("example", {"Anna Lindqvist", "Joe McAllister"}),  # every example.* address
        ("l@exa", {"Anna Lindqvist"}),  # the middle of an email
        ("contacts", {"only.an.email@contacts.test"}),  # a contact without a name
        ("lindqvist anna", set()),  # a match never runs from the name into the email
        ("zzz", set()),
    ],
)
def test_search_finds_any_part_of_a_name_or_email(admin, people, q, expected):
    assert found(admin, people, q) == expected


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("nn_ok", {"Nnamdi Okoro"}),  # _ is an underscore, not any character (nnxok)
        ("100%o", {"Sam Percent"}),
        ("100%ff", set()),  # % is a percent sign, not "anything" (100%off)
        ("_", set()),
        ("%", set()),
    ],
)
def test_percent_and_underscore_match_themselves(admin, people, q, expected):
    assert found(admin, people, q) == expected


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("nn", {"Nnamdi Okoro", "Nora Bloom"}),  # names and emails starting nn; not Anna
        ("bl", {"Nora Bloom"}),  # the start of a last name
        ("o", {"Nnamdi Okoro", "only.an.email@contacts.test"}),  # not Bloom, McAllister
        ("j.", set()),
    ],
)
def test_searches_without_three_letters_in_a_row_match_the_start(admin, people, q, expected):
    assert found(admin, people, q) == expected


def test_the_page_says_when_a_search_only_matches_the_start(admin, people):
    short = admin.get("/customers", query_string={"q": "nn"}).get_data(as_text=True)
    assert "data-search-hint" in short and "start with “nn”" in short
    assert "Nnamdi" in short and "Anna" not in short
    full = admin.get("/customers", query_string={"q": "nna"}).get_data(as_text=True)
    assert "data-search-hint" not in full and "Anna" in full and "Nnamdi" in full


def test_search_pages_through_every_match_in_order(people):
    shop = people
    for n in range(12):
        make_customer(shop, first_name=f"Marianne{n}", last_name="Roe", email=f"m{n}@x.test")
    db.session.commit()
    args = {"q": "rian", "sort": "name", "direction": "asc"}
    query, seen = table.TableQuery.from_args(args), []
    while True:
        page = table.customer_page(shop, query, page_size=5)
        seen += [r.first_name for r in page.rows]
        if page.next_cursor is None:
            break
        query = table.TableQuery.from_args({**args, "after": page.next_cursor})
    assert seen == sorted(f"Marianne{n}" for n in range(12))


def test_postgresql_serves_infix_search_from_the_trigram_index(people):
    """The query's expression must be the index's, or every search reads the whole table."""
    if db.session.get_bind().dialect.name != "postgresql":
        pytest.skip("SQLite has no trigram index: it scans, as the README says")
    statement = select(Customer.id).where(search.search_conditions("lindq"))
    # Prepared and planned generically, as psycopg prepares a statement after five runs: a
    # bound parameter inside the expression would then no longer match the index's.
    compiled = statement.compile(
        dialect=PGDialect(paramstyle="numeric_dollar"),
        compile_kwargs={"render_postcompile": True},
    )
    values = {f"p{n}": compiled.params[key] for n, key in enumerate(compiled.positiontup or ())}
    db.session.execute(text(f"PREPARE search_probe AS {compiled}"))
    # Only bitmap scans left: they need an index condition, which only the trigram index
    # can give an infix LIKE.
    for setting in ("enable_seqscan", "enable_indexscan", "enable_indexonlyscan"):
        db.session.execute(text(f"SET LOCAL {setting} = off"))
    db.session.execute(text("SET LOCAL plan_cache_mode = force_generic_plan"))
    args = f"({', '.join(f':{name}' for name in values)})" if values else ""
    plan = "\n".join(
        db.session.execute(text(f"EXPLAIN EXECUTE search_probe{args}"), values).scalars()
    )
    db.session.execute(text("DEALLOCATE search_probe"))
    db.session.rollback()
    assert "Bitmap Index Scan on ix_customers_search_trgm" in plan, plan
