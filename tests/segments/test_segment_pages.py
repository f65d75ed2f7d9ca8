"""The Segments pages as a merchant uses them: the list with counts, a segment's members in
pages, the customers table filtered by segment, one segment's export, the rule editor with its
live count and its messages, delete asking first, and other shops' segments as 404s."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from shopify_app.platform.extensions import db
from shopify_app.platform.models import (
    AttributeDefinition,
    CustomerEvent,
    Invitation,
    Segment,
    SegmentMember,
)
from shopify_app.platform.models.people import NUMBER
from shopify_app.platform.models.segment import DYNAMIC
from tests.factories import T0, make_customer
from tests.helpers import AdminClient, make_shop, run_jobs
from tests.pages import button_link, post_form, text_of

POINTS_300 = [{"field": "points", "op": "gte", "value": 300}]


def static_segment(shop, name, customers) -> Segment:
    segment = Segment(shop_id=shop.id, name=name)
    db.session.add(segment)
    db.session.flush()
    for customer in customers:
        db.session.add(
            SegmentMember(segment_id=segment.id, customer_id=customer.id, shop_id=shop.id)
        )
    return segment


def dynamic_segment(shop, name, rules, match="all") -> Segment:
    segment = Segment(shop_id=shop.id, name=name, kind=DYNAMIC, rules=rules, match=match)
    db.session.add(segment)
    db.session.flush()
    return segment


@pytest.fixture
def store(shop, shopify_double):
    """120 customers (every 2nd has 300+ points), a static VIP of 3 and a dynamic segment;
    another shop with a segment of its own."""
    people = [
        make_customer(
            shop, first_name=f"P{n:03d}", last_name="", points_balance=300 + n if n % 2 else n
        )
        for n in range(120)
    ]
    gone = make_customer(shop, first_name="Gone", points_balance=999, deleted_at=T0)
    vip = static_segment(shop, "VIP", [people[0], people[1], people[2], gone])
    rich = dynamic_segment(shop, "Big spenders", POINTS_300)
    other = make_shop(shopify_double, "other-shop.myshopify.com")
    theirs = static_segment(other, "Theirs", [make_customer(other, first_name="Zed")])
    db.session.commit()
    return {"people": people, "vip": vip, "rich": rich, "theirs": theirs, "other": other}


def names_in(page: str) -> list[str]:
    return re.findall(r'class="p-table__primary" href="[^"]*">(P\d{3}|Gone|Zed)</a>', page)


def test_segments_page_lists_static_and_dynamic_segments_with_member_counts(admin, store):
    page = admin.get("/segments").get_data(as_text=True)
    rows = {
        name: cells
        for name, *cells in re.findall(
            r"<tr data-segment=.*?>([^<>]+)</a>.*?data-members([^>]*)>\s*([^<]*)<", page, re.S
        )
    }
    assert rows["VIP"] == ["", "3"]  # deleted customers are not counted
    # A dynamic segment is counted after the page renders.
    url = re.search(r'data-count-url="([^"]+)"', rows["Big spenders"][0])[1]
    assert admin.client.get(html.unescape(url)).get_json() == {"count": 60}
    assert "Theirs" not in page
    assert "Dynamic" in text_of(page) and "Static" in text_of(page)
    assert 'href="/segments' in admin.get("/customers").get_data(as_text=True)  # navigation


def test_a_segment_page_lists_its_members_in_keyset_pages(admin, store):
    first = admin.get(f"/segments/{store['rich'].id}", query_string={"sort": "name"})
    page = first.get_data(as_text=True)
    assert first.status_code == 200
    shown = names_in(page)
    assert len(shown) == 50
    assert shown == sorted(shown)
    next_url = re.search(r'href="([^"]+)" rel="next"', page)
    assert next_url and f"/segments/{store['rich'].id}" in next_url[1]
    rest = names_in(admin.client.get(next_url[1].replace("&amp;", "&")).get_data(as_text=True))
    expected = sorted(p.first_name for p in store["people"] if p.points_balance >= 300)
    assert shown == expected[:50]
    assert rest == expected[50:]
    assert len(shown) + len(rest) == 60


def test_the_customers_table_filters_by_segment_and_counts_its_matches(admin, store):
    page = admin.get("/customers", query_string={"segment": store["vip"].id}).get_data(as_text=True)
    assert sorted(names_in(page)) == ["P000", "P001", "P002"]
    assert f'<option value="{store["vip"].id}" selected>Segment: VIP</option>' in page
    count = admin.get(
        "/customers/count.json", fetch=True, query_string={"segment": store["rich"].id}
    ).get_json()
    assert count == {"count": 60}


def test_export_of_one_segment_holds_exactly_its_members(admin, store):
    body = admin.get("/customers/export.csv", query_string={"segment": store["rich"].id})
    rows = list(csv.DictReader(io.StringIO(body.get_data().decode("utf-8-sig"))))
    expected = {p.id for p in store["people"] if p.points_balance >= 300}
    assert {int(row["Customer ID"]) for row in rows} == expected


def test_export_of_a_segment_with_event_and_attribute_conditions(admin, shop, store):
    db.session.add(AttributeDefinition(shop_id=shop.id, name="orders", kind=NUMBER))
    buyer, other = store["people"][3], store["people"][4]
    buyer.attributes = {"orders": 4}
    other.attributes = {"orders": 4}
    db.session.add(
        CustomerEvent(
            shop_id=shop.id,
            customer_id=buyer.id,
            name="purchase",
            occurred_at=datetime.now(UTC).replace(tzinfo=None) - timedelta(days=1),
            event_key="e1",
        )
    )
    segment = dynamic_segment(
        shop,
        "Buyers",
        [
            {"field": "event", "op": "did", "name": "purchase", "times": 1, "days": 30},
            {"field": "attribute", "name": "orders", "op": "gte", "value": 2},
        ],
    )
    db.session.commit()
    body = admin.get("/customers/export.csv", query_string={"segment": segment.id})
    rows = list(csv.DictReader(io.StringIO(body.get_data().decode("utf-8-sig"))))
    assert [int(row["Customer ID"]) for row in rows] == [buyer.id]


def test_another_shops_segment_in_the_url_is_not_found(admin, store):
    theirs = store["theirs"].id
    assert admin.get(f"/segments/{theirs}").status_code == 404
    assert admin.get(f"/segments/{theirs}/edit").status_code == 404
    assert admin.get(f"/segments/{theirs}/count.json", fetch=True).status_code == 404
    assert admin.get("/customers", query_string={"segment": theirs}).status_code == 404
    assert admin.get("/customers/export.csv", query_string={"segment": theirs}).status_code == 404
    assert admin.post(f"/segments/{theirs}/delete").status_code == 404
    assert db.session.get(Segment, theirs) is not None


def _rule_form(name="Loyal", match="all", *rows) -> dict[str, str]:
    form = {"name": name, "match": match}
    for i, row in enumerate(rows):
        form.update({f"rows-{i}-{key}": value for key, value in row.items()})
    return form


def test_building_a_dynamic_segment_saves_its_rules_and_shows_its_members(admin, shop, store):
    response = admin.post(
        "/segments/new",
        _rule_form(
            "Loyal members",
            "all",
            {"what": "points", "op": "gte", "value": "350"},
            {"what": "status", "op": "members"},
            {"what": "", "op": "gte", "value": ""},  # the empty row is dropped
        ),
    )
    assert response.status_code == 302
    segment = db.session.execute(
        select(Segment).where(Segment.name == "Loyal members")
    ).scalar_one()
    assert segment.kind == DYNAMIC
    assert segment.rules == [
        {"field": "points", "op": "gte", "value": 350},
        {"field": "status", "op": "members"},
    ]
    page = admin.get(f"/segments/{segment.id}").get_data(as_text=True)
    assert sorted(names_in(page)) == sorted(
        p.first_name for p in store["people"] if p.points_balance >= 350
    )
    edit = admin.get(f"/segments/{segment.id}/edit").get_data(as_text=True)
    assert 'name="rows-0-value" value="350"' in edit


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"what": "points", "op": "gte", "value": "lots"}, "whole number"),
        ({"what": "points", "op": "contains", "value": "3"}, "Choose one of"),
        ({"what": "referrer_revenue", "op": "gte", "value": "12,5x"}, "amount"),
        ({"what": "event", "op": "did", "event": ""}, "event's name"),
        ({"what": "event", "op": "did", "event": "purchase", "times": "0"}, "At least"),
        ({"what": "event", "op": "did", "event": "purchase", "days": "-3"}, "In the last"),
        ({"what": "attribute:orders", "op": "gte", "value": "ten"}, "enter a number"),
        ({"what": "attribute:orders", "op": "contains", "value": "1"}, "number attribute"),
        ({"what": "attribute:tier", "op": "eq", "value": "gold"}, "no longer exists"),
        ({"what": "bogus", "op": "eq"}, "Choose what the condition is about"),
    ],
)
def test_a_bad_condition_gets_its_message_and_nothing_is_saved(admin, shop, row, message):
    db.session.add(AttributeDefinition(shop_id=shop.id, name="orders", kind=NUMBER))
    db.session.commit()
    response = admin.post("/segments/new", _rule_form("Bad", "all", row))
    assert response.status_code == 422
    assert message in text_of(response.get_data(as_text=True))
    assert 'value="Bad"' in response.get_data(as_text=True)  # what was typed stays
    assert db.session.execute(select(Segment)).first() is None


def test_a_segment_needs_a_name_of_its_own(admin, store):
    assert "Give the segment a name" in text_of(
        admin.post("/segments/new", _rule_form("", "all")).get_data(as_text=True)
    )
    taken = admin.post("/segments/new", _rule_form("vip", "all"))
    assert taken.status_code == 422 and "exists already" in text_of(taken.get_data(as_text=True))


def test_add_another_condition_works_without_javascript(admin, store):
    page = admin.post(
        "/segments/new", {**_rule_form("X", "all", {"what": "points", "op": "gte"}), "add": "1"}
    ).get_data(as_text=True)
    assert 'name="rows-0-what"' in page and 'name="rows-1-what"' in page
    assert db.session.execute(select(Segment).where(Segment.name == "X")).first() is None


def test_the_live_count_answers_as_the_merchant_edits(admin, store):
    args = {"match": "any", "rows-0-what": "points", "rows-0-op": "gte", "rows-0-value": "300"}
    assert admin.get("/segments/count.json", fetch=True, query_string=args).get_json() == {
        "count": 60,
        "errors": {},
    }
    args["rows-1-what"], args["rows-1-op"], args["rows-1-value"] = "points", "eq", "0"
    assert (
        admin.get("/segments/count.json", fetch=True, query_string=args).get_json()["count"] == 61
    )
    bad = admin.get(
        "/segments/count.json",
        fetch=True,
        query_string={"rows-0-what": "points", "rows-0-op": "gte", "rows-0-value": "x"},
    )
    assert bad.status_code == 422 and "whole number" in bad.get_json()["errors"]["rows-0"]


def test_a_rule_on_an_attribute_that_is_gone_is_explained_on_the_segment_page(admin, shop, store):
    gone = dynamic_segment(
        shop, "Old tiers", [{"field": "attribute", "name": "tier", "op": "eq", "value": "gold"}]
    )
    db.session.commit()
    response = admin.get(f"/segments/{gone.id}")
    assert response.status_code == 200
    words = text_of(response.get_data(as_text=True))
    assert "The attribute “tier” no longer exists" in words and "matches nobody" in words
    assert names_in(response.get_data(as_text=True)) == []


def test_delete_asks_first_then_deletes_the_segment_but_not_its_customers(admin, store):
    vip = store["vip"].id
    page = admin.get(f"/segments/{vip}").get_data(as_text=True)
    ask = admin.client.get(button_link(page, "Delete"))
    words = text_of(ask.get_data(as_text=True))
    assert "Delete the segment VIP?" in words and "3 customers stay" in words
    assert db.session.get(Segment, vip) is not None
    action, fields = post_form(ask.get_data(as_text=True))
    assert admin.client.post(action, data=fields).status_code == 302
    db.session.expire_all()
    assert db.session.get(Segment, vip) is None
    assert all(db.session.get(type(p), p.id) for p in store["people"][:3])


def test_ticked_customers_can_be_saved_as_a_static_segment(admin, shop, store, shopify_double):
    stranger = make_customer(store["other"], first_name="Zara")
    db.session.commit()
    mine = [store["people"][5].id, store["people"][6].id]
    response = admin.client.post(
        "/segments/from-selection",
        data={
            "name": "Hand picked",
            "customer_id": [*map(str, mine), str(stranger.id)],
            "id_token": admin.token(),
        },
        query_string={"id_token": admin.token()},
    )
    assert response.status_code == 302
    segment = db.session.execute(select(Segment).where(Segment.name == "Hand picked")).scalar_one()
    members = db.session.execute(
        select(SegmentMember.customer_id).where(SegmentMember.segment_id == segment.id)
    ).scalars()
    assert sorted(members) == sorted(mine)


def test_other_shop_admin_sees_only_its_own_segments(client, store, shopify_double):
    other_admin = AdminClient(client, store["other"].domain, shopify_double)
    page = other_admin.get("/segments").get_data(as_text=True)
    assert "Theirs" in page and "VIP" not in page


def test_the_edit_page_shows_the_saved_conditions_and_saving_them_keeps_them(admin, shop):
    rules = [
        {"field": "event", "op": "did_not", "name": "purchase", "times": 2, "days": 90},
        {"field": "referrer_revenue", "op": "gte", "value": 1250},
    ]
    segment = dynamic_segment(shop, "Lapsed referrers", rules, match="any")
    db.session.commit()
    page = admin.get(f"/segments/{segment.id}/edit").get_data(as_text=True)
    assert '<option value="any" selected>' in page
    assert 'name="rows-0-event" value="purchase"' in page
    assert 'name="rows-0-days" value="90"' in page
    assert 'name="rows-1-value" value="12.50"' in page
    form = dict(re.findall(r'<input[^>]* name="(rows-\d-\w+)" value="([^"]*)"', page))
    form.update(
        re.findall(
            r'<select[^>]* name="(rows-\d-\w+)"[^>]*>.*?<option value="([^"]*)"'
            r"[^>]* selected>",
            page,
            re.S,
        )
    )
    response = admin.post(
        f"/segments/{segment.id}/edit", {**form, "name": "Lapsed", "match": "any"}
    )
    assert response.status_code == 302
    db.session.expire_all()
    saved = db.session.get(Segment, segment.id)
    assert (saved.name, saved.match, saved.rules) == ("Lapsed", "any", rules)


def test_select_all_matching_on_a_segment_invites_exactly_its_members(
    admin, app, shop, store, inbox
):
    from_page = admin.get(f"/segments/{store['rich'].id}").get_data(as_text=True)
    assert f'<input type="hidden" name="segment" value="{store["rich"].id}">' in from_page
    response = admin.get(
        "/invitations/new", query_string={"matching": "1", "segment": store["rich"].id}
    )
    assert "Will be invited: 60" in text_of(response.get_data(as_text=True))
    assert (
        admin.post("/invitations", {"matching": "1", "segment": store["rich"].id}).status_code
        == 302
    )
    run_jobs(app)
    invited = set(db.session.execute(select(Invitation.customer_id)).scalars())
    assert invited == {p.id for p in store["people"] if p.points_balance >= 300}
