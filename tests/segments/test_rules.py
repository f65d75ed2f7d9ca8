"""Dynamic segment rules: each kind of condition, all/any, events with N and D, attributes that
are gone, and other shops, checked on the database the suite runs on (PostgreSQL or SQLite)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from shopify_app.platform.extensions import db
from shopify_app.platform.models import AttributeDefinition, Customer, CustomerEvent
from shopify_app.platform.models.people import BOOLEAN, DATE, NUMBER, TEXT
from shopify_app.segments.rules import compile_rules
from shopify_app.segments.store import live_customers
from tests.factories import T0, make_customer
from tests.helpers import make_shop

NOW = datetime(2026, 6, 1, 12, 0)
_keys = iter(range(1, 10**9))


@pytest.fixture(params=[False, True], ids=["set-wise", "per-row"])
def per_row(request) -> bool:
    """Every rule is checked in both shapes: counts and exports, and member pages."""
    return request.param


def matching(shop, rules, match="all", *, per_row: bool) -> set[str]:
    compiled = compile_rules(shop, rules, match, now=NOW, per_row=per_row)
    rows = db.session.execute(
        select(Customer.first_name).where(compiled.condition, live_customers(shop))
    )
    return set(rows.scalars())


def attribute(shop, name, kind):
    db.session.add(AttributeDefinition(shop_id=shop.id, name=name, kind=kind))


def event(shop, customer, name, days_ago):
    db.session.add(
        CustomerEvent(
            shop_id=shop.id,
            customer_id=customer.id,
            name=name,
            occurred_at=NOW - timedelta(days=days_ago),
            event_key=f"k{next(_keys)}",
        )
    )


@pytest.fixture
def people(shop):
    """Four customers with distinct stats, attributes and events."""
    for name, kind in [("tier", TEXT), ("orders", NUMBER), ("since", DATE), ("vip", BOOLEAN)]:
        attribute(shop, name, kind)
    ada = make_customer(
        shop,
        first_name="ada",
        points_balance=500,
        successful_referrals=3,
        referrer_revenue_minor=12_000,
        joined_at=T0,
        attributes={"tier": "Gold", "orders": 12, "since": "2026-05-20", "vip": True},
    )
    bob = make_customer(
        shop,
        first_name="bob",
        state="DISABLED",
        points_balance=100,
        attributes={"tier": "silver", "orders": "3", "since": "2025-01-02T10:00:00", "vip": False},
    )
    cy = make_customer(
        shop,
        first_name="cy",
        points_balance=100,
        successful_referrals=1,
        attributes={"tier": "Gold Plus", "orders": "n/a", "vip": "yes"},
    )
    make_customer(shop, first_name="dee", attributes=None, deleted_at=T0)  # never matches
    make_customer(shop, first_name="eve", state="DISABLED", attributes={})
    for days in (1, 2, 3):
        event(shop, ada, "purchase", days)
    event(shop, bob, "purchase", 5)
    event(shop, bob, "purchase", 40)
    event(shop, cy, "review", 1)
    db.session.commit()
    return {"ada": ada, "bob": bob, "cy": cy}


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"field": "status", "op": "members"}, {"ada", "cy"}),
        ({"field": "status", "op": "guests"}, {"bob", "eve"}),
        ({"field": "program", "op": "joined"}, {"ada"}),
        ({"field": "program", "op": "not_joined"}, {"bob", "cy", "eve"}),
        ({"field": "points", "op": "gte", "value": 100}, {"ada", "bob", "cy"}),
        ({"field": "points", "op": "lte", "value": 100}, {"bob", "cy", "eve"}),
        ({"field": "points", "op": "eq", "value": 500}, {"ada"}),
        ({"field": "referrals", "op": "gte", "value": 1}, {"ada", "cy"}),
        ({"field": "referrer_revenue", "op": "gte", "value": 10_000}, {"ada"}),
        ({"field": "attribute", "name": "tier", "op": "eq", "value": "gold"}, {"ada"}),
        ({"field": "attribute", "name": "tier", "op": "contains", "value": "GOLD"}, {"ada", "cy"}),
        ({"field": "attribute", "name": "tier", "op": "not_set"}, {"eve"}),
        ({"field": "attribute", "name": "orders", "op": "gte", "value": 3}, {"ada", "bob"}),
        ({"field": "attribute", "name": "orders", "op": "lte", "value": 3.0}, {"bob"}),
        ({"field": "attribute", "name": "orders", "op": "eq", "value": 12}, {"ada"}),
        ({"field": "attribute", "name": "since", "op": "after", "value": "2026-01-01"}, {"ada"}),
        ({"field": "attribute", "name": "since", "op": "before", "value": "2026-01-01"}, {"bob"}),
        ({"field": "attribute", "name": "since", "op": "eq", "value": "2025-01-02"}, {"bob"}),
        ({"field": "attribute", "name": "since", "op": "within_days", "value": 30}, {"ada"}),
        ({"field": "attribute", "name": "since", "op": "set"}, {"ada", "bob"}),
        ({"field": "attribute", "name": "vip", "op": "is_true"}, {"ada", "cy"}),
        ({"field": "attribute", "name": "vip", "op": "is_false"}, {"bob"}),
    ],
)
def test_each_kind_of_condition_matches_exactly_its_customers(
    people, shop, rule, expected, per_row
):
    assert matching(shop, [rule], per_row=per_row) == expected


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"op": "did", "times": 1, "days": 0}, {"ada", "bob"}),
        ({"op": "did", "times": 3, "days": 7}, {"ada"}),
        ({"op": "did", "times": 2, "days": 0}, {"ada", "bob"}),
        ({"op": "did", "times": 2, "days": 30}, {"ada"}),
        ({"op": "did", "times": 1, "days": 4}, {"ada"}),
        ({"op": "did", "times": 4, "days": 0}, set()),
        ({"op": "did_not", "times": 1, "days": 30}, {"cy", "eve"}),
        ({"op": "did_not", "times": 3, "days": 0}, {"bob", "cy", "eve"}),
    ],
)
def test_events_did_or_did_not_at_least_n_times_in_the_last_d_days(
    people, shop, rule, expected, per_row
):
    assert (
        matching(shop, [{"field": "event", "name": "purchase", **rule}], per_row=per_row)
        == expected
    )


def test_all_needs_every_condition_and_any_one_of_them(people, shop, per_row):
    rules = [
        {"field": "status", "op": "members"},
        {"field": "event", "op": "did", "name": "purchase", "times": 1, "days": 30},
    ]
    assert matching(shop, rules, "all", per_row=per_row) == {"ada"}
    many_orders = {"field": "attribute", "name": "orders", "op": "gte", "value": 20}
    assert matching(shop, [*rules, many_orders], "all", per_row=per_row) == set()
    twice = {"field": "event", "op": "did", "name": "purchase", "times": 2, "days": 7}
    assert matching(shop, [{**many_orders, "value": 12}, twice], "all", per_row=per_row) == {"ada"}
    assert matching(shop, rules, "any", per_row=per_row) == {"ada", "bob", "cy"}
    assert matching(shop, [], "all", per_row=per_row) == {"ada", "bob", "cy", "eve"}


def test_an_attribute_that_no_longer_exists_matches_nobody_and_says_so(people, shop, per_row):
    gone = {"field": "attribute", "name": "loyalty_tier", "op": "eq", "value": "gold"}
    compiled = compile_rules(shop, [gone], "all", now=NOW)
    assert compiled.problems and "loyalty_tier" in compiled.problems[0]
    assert matching(shop, [gone], per_row=per_row) == set()
    members = {"field": "status", "op": "members"}
    assert matching(shop, [gone, members], "any", per_row=per_row) == {"ada", "cy"}


def test_a_comparison_that_no_longer_fits_the_attribute_matches_nobody(people, shop, per_row):
    rule = {"field": "attribute", "name": "vip", "op": "gte", "value": 1}
    assert compile_rules(shop, [rule]).problems
    assert matching(shop, [rule], per_row=per_row) == set()


def test_rules_never_match_another_shops_customers_or_events(people, shop, shopify_double, per_row):
    other = make_shop(shopify_double, "other-shop.myshopify.com")
    attribute(other, "tier", TEXT)
    stranger = make_customer(
        other, first_name="zed", points_balance=900, attributes={"tier": "Gold"}
    )
    for days in (1, 2, 3, 4):
        event(other, stranger, "purchase", days)
    # An event of the other shop recorded against this shop's customer id must not count.
    event(other, people["cy"], "purchase", 1)
    db.session.commit()
    assert matching(shop, [{"field": "points", "op": "gte", "value": 0}], per_row=per_row) == {
        "ada",
        "bob",
        "cy",
        "eve",
    }
    assert matching(
        shop,
        [{"field": "event", "op": "did", "name": "purchase", "times": 1, "days": 30}],
        per_row=per_row,
    ) == {"ada", "bob"}
    assert matching(
        other,
        [{"field": "attribute", "name": "tier", "op": "eq", "value": "gold"}],
        per_row=per_row,
    ) == {"zed"}
