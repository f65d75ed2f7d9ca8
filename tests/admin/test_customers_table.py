"""The customers table: filters, search, sorts and keyset pages return exactly the right rows."""

from __future__ import annotations

import random
import re
from dataclasses import fields
from datetime import timedelta

import pytest
from sqlalchemy import select

from shopify_app.customers import queries as table
from shopify_app.platform.extensions import db
from shopify_app.platform.models import Customer
from tests.factories import T0, make_customer
from tests.helpers import make_shop

FIRST = ["ada", "Adam", "grace", "Alan", "Smith", "léa", "o'brien", "Bob", "Ada", "zoe"]
LAST = ["Lovelace", "Smith", "Hopper", "Turing", "Adams", "Smithers", "Dubois", "", "Stone"]


def _seed(shop, n: int, seed: int) -> list[Customer]:
    rng = random.Random(seed)
    customers = []
    for i in range(n):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        customers.append(
            make_customer(
                shop,
                first_name=first,
                last_name=last,
                email=f"{first.lower().replace(' ', '')}.{i}@{rng.choice(['b.example', 'ex.com'])}",
                state=rng.choice(["ENABLED", "DISABLED", "INVITED"]),
                joined_at=T0 if rng.random() < 0.4 else None,
                points_balance=rng.choice([0, 0, 5, 100, 250, 1000]),
                successful_referrals=rng.choice([0, 0, 1, 2, 7]),
                referrer_revenue_minor=rng.choice([0, 0, 1999, 5000]),
                referee_revenue_minor=rng.choice([0, 12345, 500, 99]),
                # Ties on every sort key, so the id tie-break is exercised.
                created_at=T0 + timedelta(hours=rng.randint(0, 20)),
            )
        )
    db.session.commit()
    return customers


@pytest.fixture
def seeded(shop, shopify_double):
    _seed(shop, 90, seed=1)
    deleted = make_customer(shop, first_name="Ada", last_name="Deleted", deleted_at=T0)
    other = make_shop(shopify_double, "other-shop.myshopify.com")
    _seed(other, 15, seed=2)
    db.session.commit()
    return shop, other, deleted


def _expected(shop, status: str, program: str, q: str, sort: str, direction: str) -> list[int]:
    """The same question answered in Python over every row, independently of the service."""
    rows = db.session.execute(select(Customer).where(Customer.shop_id == shop.id)).scalars()
    needle = q.strip().lower()

    def keep(c: Customer) -> bool:
        if c.deleted_at is not None or c.redacted_at is not None:
            return False
        if status == "members" and not c.is_member or status == "guests" and c.is_member:
            return False
        if program == "joined" and c.joined_at is None:
            return False
        if program == "not_joined" and c.joined_at is not None:
            return False
        texts = (f"{c.first_name} {c.last_name}".strip().lower(), c.last_name.lower())
        texts += (c.email_key or "",)
        if not needle:
            return True
        if any(len(run) >= 3 for run in re.findall(r"[^\W_]+", needle)):
            return any(needle in s for s in texts)  # any part, once trigrams can look it up
        return any(s.startswith(needle) for s in texts)

    key = {
        "date": lambda c: c.created_at,
        "name": lambda c: f"{c.first_name} {c.last_name}".strip().lower(),
        "points": lambda c: c.points_balance,
        "referrals": lambda c: c.successful_referrals,
        "referrer_revenue": lambda c: c.referrer_revenue_minor,
        "referee_revenue": lambda c: c.referee_revenue_minor,
    }[sort]
    ordered = sorted(filter(keep, rows), key=lambda c: (key(c), c.id))
    ids = [c.id for c in ordered]
    return ids[::-1] if direction == "desc" else ids


def _walk_forward(shop, args: dict[str, str], page_size: int) -> list[int]:
    query, ids = table.TableQuery.from_args(args), []
    while True:
        page = table.customer_page(shop, query, page_size)
        ids += [r.id for r in page.rows]
        if page.next_cursor is None:
            return ids
        query = table.TableQuery.from_args({**args, "after": page.next_cursor})


def _walk_backward(shop, args: dict[str, str], page_size: int) -> list[int]:
    query, pages = table.TableQuery.from_args({**args, "last": "1"}), []
    while True:
        page = table.customer_page(shop, query, page_size)
        pages.insert(0, [r.id for r in page.rows])
        if page.prev_cursor is None:
            return [i for p in pages for i in p]
        query = table.TableQuery.from_args({**args, "before": page.prev_cursor})


@pytest.mark.parametrize("sort", list(table.SORTS))
@pytest.mark.parametrize("direction", ["asc", "desc"])
def test_every_sort_pages_through_exactly_the_expected_rows(seeded, sort, direction):
    shop, _, _ = seeded
    args = {"sort": sort, "direction": direction}
    expected = _expected(shop, "all", "any", "", sort, direction)
    assert len(expected) == 90
    assert _walk_forward(shop, args, page_size=7) == expected
    assert _walk_backward(shop, args, page_size=7) == expected


@pytest.mark.parametrize(
    ("status", "program", "q"),
    [
        ("members", "any", ""),
        ("guests", "any", ""),
        ("all", "joined", ""),
        ("guests", "not_joined", ""),
        ("all", "any", "ada"),
        ("all", "any", "SMI"),
        ("members", "joined", "a"),
        ("all", "any", "ada lo"),
        ("all", "any", "ams"),
        ("all", "any", "ex.com"),
        ("all", "any", "zoe."),
        ("all", "any", "%"),
        ("all", "any", "o'b"),
        ("all", "any", "léa"),
        ("all", "any", "nobody-has-this"),
    ],
)
def test_filters_and_search_match_an_independent_query(seeded, status, program, q):
    shop, _, deleted = seeded
    args = {"status": status, "program": program, "q": q, "sort": "name", "direction": "asc"}
    expected = _expected(shop, status, program, q, "name", "asc")
    assert bool(expected) == (q not in {"%", "nobody-has-this"})
    assert _walk_forward(shop, args, page_size=6) == expected
    assert _walk_backward(shop, args, page_size=6) == expected
    matching = db.session.execute(table.matching_customer_ids(shop, args)).scalars().all()
    assert sorted(matching) == sorted(expected)
    assert table.count_matching(shop, table.TableQuery.from_args(args)) == len(expected)
    assert deleted.id not in matching


def test_another_shops_customers_never_appear(seeded):
    shop, other, _ = seeded
    other_ids = set(
        db.session.execute(select(Customer.id).where(Customer.shop_id == other.id)).scalars()
    )
    for q in ["", "ada", "smith"]:
        seen = set(_walk_forward(shop, {"q": q}, page_size=50))
        assert seen and not seen & other_ids
        ids = set(db.session.execute(table.matching_customer_ids(shop, {"q": q})).scalars())
        assert not ids & other_ids


@pytest.mark.parametrize("sort", list(table.SORTS))
def test_a_page_statement_reused_for_another_shop_reads_that_shop(seeded, sort):
    """Plain pages reuse one statement per shape; the shop is bound at each execution."""
    shop, other, _ = seeded
    for owner, count in ((shop, 90), (other, 15), (shop, 90)):
        for status in ("all", "members"):
            args = {"sort": sort, "status": status, "direction": "desc"}
            expected = _expected(owner, status, "any", "", sort, "desc")
            assert len(expected) <= count and expected
            assert _walk_forward(owner, args, page_size=4) == expected
            assert _walk_backward(owner, args, page_size=4) == expected


def test_index_page_renders_rows_with_badges_money_and_cursor_links(admin, seeded):
    shop, _, _ = seeded
    response = admin.get("/customers", query_string={"sort": "referee_revenue"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    top = _expected(shop, "all", "any", "", "referee_revenue", "desc")[0]
    assert f"/customers/{top}?" in html
    assert "$123.45" in html
    assert "Member" in html and "Guest" in html and "Not joined" in html
    assert html.count('name="customer_id"') == 50
    assert "after=" in html and "last=1" in html
    assert ("invitations.new" in admin.client.application.view_functions) == (
        'id="bulk-form" action=' in html
    )
    for hidden in ('name="status"', 'name="program"', 'name="q"', 'name="matching"'):
        assert hidden in html


def test_http_pages_follow_next_and_last_links(admin, seeded):
    shop, _, _ = seeded
    expected = _expected(shop, "members", "any", "", "date", "desc")
    seen: list[int] = []
    response = admin.get("/customers", query_string={"status": "members"})
    while True:
        html = response.get_data(as_text=True)
        seen += [int(i) for i in re.findall(r'name="customer_id" value="(\d+)"', html)]
        match = re.search(r'href="/customers\?[^"]*after=([^&"]+)', html)
        if not match:
            break
        response = admin.get("/customers", query_string={"status": "members", "after": match[1]})
    assert seen == expected
    last = admin.get("/customers", query_string={"status": "members", "last": "1"})
    ids = [int(i) for i in re.findall(r'name="customer_id" value="(\d+)"', last.get_data(True))]
    assert ids == expected[-len(ids) :] and ids[-1] == expected[-1]


def test_a_tampered_cursor_falls_back_to_the_first_page(admin, seeded):
    response = admin.get("/customers", query_string={"after": "not-a-cursor"})
    assert response.status_code == 200
    assert "no longer valid" in response.get_data(as_text=True)


def test_count_endpoint_counts_the_filtered_customers(admin, seeded):
    shop, _, _ = seeded
    response = admin.get("/customers/count.json", fetch=True, query_string={"status": "guests"})
    assert response.json == {"count": len(_expected(shop, "guests", "any", "", "date", "desc"))}


def test_empty_states_say_what_to_do(admin, shop):
    html = admin.get("/customers").get_data(as_text=True)
    assert "No customers yet" in html and "Add customer by email" in html
    make_customer(shop, first_name="Ada")
    db.session.commit()
    html = admin.get("/customers", query_string={"q": "zzz"}).get_data(as_text=True)
    assert "No customers match" in html and "Clear search and filters" in html


def test_rows_are_built_from_the_row_columns_in_their_order():
    """customer_page builds CustomerRow positionally, so a column out of place is a bug."""
    names = [c.key for c in table.ROW_COLUMNS] + ["sort_value"]
    assert names == [f.name for f in fields(table.CustomerRow)]


@pytest.mark.parametrize(
    ("args", "direction"),
    [
        pytest.param(
            {"sort": "name", "direction": "desc", "sorted_by": "points"}, "asc", id="to-name"
        ),
        pytest.param(
            {"sort": "points", "direction": "asc", "sorted_by": "name"}, "desc", id="to-points"
        ),
        pytest.param(
            {"sort": "date", "direction": "asc", "sorted_by": "name"}, "desc", id="to-date"
        ),
        pytest.param(
            {"sort": "name", "direction": "desc", "sorted_by": "name"}, "desc", id="same-sort"
        ),
        pytest.param({"sort": "points", "direction": "asc"}, "asc", id="a-link"),
    ],
)
def test_choosing_a_sort_column_starts_in_its_natural_direction(args, direction):
    assert table.TableQuery.from_args(args).direction == direction


def test_the_sort_menu_shows_the_natural_direction_of_the_new_column(admin, shop):
    make_customer(shop, first_name="Ada")
    db.session.commit()
    page = admin.get(
        "/customers", query_string={"sort": "name", "direction": "desc", "sorted_by": "date"}
    ).get_data(as_text=True)
    assert re.search(r'<option value="asc" selected>A–Z</option>', page)
    assert 'name="sorted_by" value="name"' in page
