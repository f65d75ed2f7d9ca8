"""Events imports: each event stored once in UTC, deduped across files, rejections explained."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

from sqlalchemy import select

from shopify_app.platform.extensions import db
from shopify_app.platform.models import CustomerEvent, PointsEntry
from tests.csv_imports.events import HEADER, customer_id, earn_for, events, import_events
from tests.csv_imports.importing import (
    add_customers,
    balance,
    confirm,
    count,
    csv_bytes,
    get_import,
    row_errors,
    upload_ok,
)
from tests.helpers import make_shop, run_jobs

A, B, C = 7_000_000_001, 7_000_000_002, 7_000_000_003


def test_events_are_imported_through_a_worker_with_their_properties(app, admin, shop):
    add_customers(shop, 2)
    rows = [
        ["shopify_id", "email", "event_name", "timestamp", "event_id", "product", "rating"],
        [A, "", "review_posted", "2026-03-01T14:30:00Z", "r-1", "Linen shirt", "5"],
        ["", f"C{B}@Example.com ", "store_visit", "2026-03-02 09:15:00", "", "Flagship", "4.5"],
        [A, "", "newsletter_signup", "2026-02-01", "", "", ""],
    ]
    import_id = import_events(app, admin, rows)
    job = get_import(import_id)
    assert (job.applied_rows, job.error_rows) == (3, 0)
    assert job.summary["result"]["added"] == 3
    stored = events(shop)
    assert [e.name for e in stored] == ["newsletter_signup", "review_posted", "store_visit"]
    signup, review, visit = stored
    assert review.customer_id == customer_id(shop, A) and review.external_id == "r-1"
    assert review.properties == {"product": "Linen shirt", "rating": 5}
    assert visit.customer_id == customer_id(shop, B)
    assert visit.properties == {"product": "Flagship", "rating": 4.5}
    assert signup.properties is None and signup.occurred_at == datetime(2026, 2, 1, tzinfo=UTC)
    assert {e.import_id for e in stored} == {import_id}
    summary = admin.get(f"/imports/{import_id}").get_data(as_text=True)
    assert "Events import #" in summary and "Events added" in summary
    assert "Revert this import" in summary

    page = admin.get(f"/customers/{customer_id(shop, A)}").get_data(as_text=True)
    assert page.index("review_posted") < page.index("newsletter_signup")  # newest first
    assert "product: Linen shirt · rating: 5" in page


def test_an_overlapping_second_file_adds_only_the_new_events(app, admin, shop):
    add_customers(shop, 2)
    first = [HEADER, [A, "order", "2026-03-01T10:00:00Z", "e-1"], [B, "order", "2026-03-02", "e-2"]]
    import_events(app, admin, first, name="monday.csv")
    second = [
        HEADER,
        [B, "order", "2026-03-02", "e-2"],  # already imported
        [A, "order", "2026-03-03T08:00:00+01:00", "e-3"],
    ]
    second_id = upload_ok(admin, csv_bytes(second), name="tuesday.csv", kind="events")
    preview = get_import(second_id).summary["preview"]
    assert (preview["new_events"], preview["already_imported"]) == (1, 1)
    confirm(admin, second_id)
    run_jobs(app)
    job = get_import(second_id)
    assert job.applied_rows == 1 and job.summary["result"]["already_imported"] == 1
    assert [e.external_id for e in events(shop)] == ["e-1", "e-2", "e-3"]
    assert events(shop)[-1].occurred_at == datetime(2026, 3, 3, 7, 0, tzinfo=UTC)


def test_re_uploading_the_same_file_adds_nothing_and_asks_nothing(app, admin, shop):
    add_customers(shop, 1)
    rows = [["shopify_id", "event_name", "timestamp"], [A, "visit", "2026-03-01 10:00"]]
    import_events(app, admin, rows)
    again = import_events(app, admin, rows)  # confirmed without "Import it again"
    job = get_import(again)
    assert job.applied_rows == 0 and job.summary["result"]["already_imported"] == 1
    assert count(CustomerEvent) == 1


def test_a_repeated_event_id_keeps_the_first_and_rejects_a_different_one(app, admin, shop):
    add_customers(shop, 2)
    rows = [
        [*HEADER, "amount"],
        [A, "purchase", "2026-03-01T10:00:00Z", "p-1", "10"],
        [A, "purchase", "2026-03-01T10:00:00Z", "p-1", "10"],  # the same event again
        [B, "purchase", "2026-03-05T10:00:00Z", "p-1", "99"],  # another event, same id
        [A, "visit", "2026-03-02", "", ""],
        [A, "visit", "2026-03-02", "", ""],  # the same row without an id
    ]
    import_id = upload_ok(admin, csv_bytes(rows), kind="events")
    preview = get_import(import_id).summary["preview"]
    assert (preview["new_events"], preview["repeated_rows"], preview["error_rows"]) == (2, 2, 1)
    assert "event_id p-1 is already used on row 2" in row_errors(import_id)[4].reason
    confirm(admin, import_id)
    run_jobs(app)
    job = get_import(import_id)
    assert (job.applied_rows, job.error_rows) == (2, 1)
    assert job.summary["result"]["repeated_rows"] == 2
    error = row_errors(import_id)[4]
    assert error.column == "event_id" and "the first one is imported" in error.reason
    purchase = [e for e in events(shop) if e.name == "purchase"]
    assert len(purchase) == 1 and purchase[0].properties == {"amount": 10}


def test_mixed_timestamp_formats_in_one_file(app, admin, shop):
    add_customers(shop, 1)
    stamps = [
        ("2026-03-01T14:30:00Z", datetime(2026, 3, 1, 14, 30, tzinfo=UTC)),
        ("2026-03-01T14:30:00.250+02:00", datetime(2026, 3, 1, 12, 30, 0, 250000, tzinfo=UTC)),
        ("2026-03-01 14:30", datetime(2026, 3, 1, 14, 30, tzinfo=UTC)),
        ("2026-03-01", datetime(2026, 3, 1, tzinfo=UTC)),
        ("20260302T080000Z", datetime(2026, 3, 2, 8, 0, tzinfo=UTC)),
        ("2026-03-02T08:00:00.123456789Z", datetime(2026, 3, 2, 8, 0, 0, 123456, tzinfo=UTC)),
        ("03/02/2026 08:00", None),
    ]
    rows = [HEADER] + [[A, f"e{n}", raw, f"t-{n}"] for n, (raw, _) in enumerate(stamps)]
    import_id = import_events(app, admin, rows, timezone="UTC")
    stored = {e.name: e.occurred_at for e in events(shop)}
    for n, (raw, expected) in enumerate(stamps):
        if expected is not None:
            assert stored[f"e{n}"] == expected, raw
    # A spreadsheet's local format is ambiguous (March 2 or February 3): a row error.
    assert "is not an ISO-8601 date and time" in row_errors(import_id)[8].reason
    assert len(stored) == 6


def test_naive_timestamps_are_read_in_the_chosen_timezone(app, admin, shop):
    add_customers(shop, 1)
    rows = [
        HEADER,
        [A, "winter", "2026-01-15 09:00", "w"],
        [A, "summer", "2026-07-15T09:00:00", "s"],
        [A, "offset", "2026-07-15T09:00:00Z", "o"],
    ]
    import_id = upload_ok(admin, csv_bytes(rows), kind="events")
    assert get_import(import_id).summary["preview"]["timezone"] == "UTC"  # the shop's
    response = admin.post(f"/imports/{import_id}/timezone", {"timezone": "America/New_York"})
    assert response.status_code == 302
    preview = get_import(import_id).summary["preview"]
    assert preview["timezone"] == "America/New_York"
    assert preview["first_at"] == "2026-01-15T14:00:00"
    confirm(admin, import_id)
    run_jobs(app)
    stored = {e.name: e.occurred_at for e in events(shop)}
    assert stored == {
        "winter": datetime(2026, 1, 15, 14, 0, tzinfo=UTC),  # EST, UTC-5
        "summer": datetime(2026, 7, 15, 13, 0, tzinfo=UTC),  # EDT, UTC-4
        "offset": datetime(2026, 7, 15, 9, 0, tzinfo=UTC),  # an offset is kept
    }


def test_an_unknown_timezone_is_refused_and_keeps_the_preview(admin, shop):
    add_customers(shop, 1)
    rows = [HEADER, [A, "visit", "2026-01-15 09:00", "v"]]
    import_id = upload_ok(admin, csv_bytes(rows), kind="events")
    admin.post(f"/imports/{import_id}/timezone", {"timezone": "Mars/Olympus"})
    job = get_import(import_id)
    assert job.status == "previewed" and job.summary["timezone"] == "UTC"
    page = admin.get(f"/imports/{import_id}").get_data(as_text=True)
    assert "is not a timezone name" in page


def test_future_and_pre_2000_timestamps_are_flagged_and_not_applied(app, admin, shop):
    add_customers(shop, 1)
    rows = [
        HEADER,
        [A, "visit", "2099-01-01T00:00:00Z", "future"],
        [A, "visit", "1999-12-31T23:59:59Z", "old"],
        [A, "visit", "2026-01-01T00:00:00Z", "ok"],
    ]
    import_id = upload_ok(admin, csv_bytes(rows), kind="events")
    errors = row_errors(import_id)
    assert errors[2].reason.startswith("timestamp is in the future (2099-01-01 00:00 UTC)")
    assert errors[3].reason.startswith("timestamp is before 2000")
    page = admin.get(f"/imports/{import_id}").get_data(as_text=True)
    assert "timestamp is in the future" in page
    confirm(admin, import_id)
    run_jobs(app)
    assert [e.external_id for e in events(shop)] == ["ok"]
    assert get_import(import_id).error_rows == 2


def test_unknown_customers_are_row_errors(app, admin, shop):
    add_customers(shop, 1)
    rows = [
        ["shopify_id", "email", "event_name", "timestamp"],
        [999_999, "", "visit", "2026-01-01"],
        ["", "nobody@example.com", "visit", "2026-01-02"],
        ["", "", "visit", "2026-01-03"],
        [A, "", "visit", "2026-01-04"],
    ]
    import_id = import_events(app, admin, rows)
    errors = row_errors(import_id)
    assert errors[2].reason == "No customer with Shopify id 999999 in this store"
    assert errors[3].reason == "No customer with email nobody@example.com in this store"
    assert errors[4].reason == "Neither shopify_id nor email is filled in"
    assert len(events(shop)) == 1
    rejected = admin.get(f"/imports/{import_id}/rejected.csv").get_data(as_text=True)
    assert "nobody@example.com" in rejected and "No customer with email" in rejected


def test_ten_thousand_event_names_keep_the_preview_short(admin, shop):
    add_customers(shop, 1)
    rows = [["shopify_id", "event_name", "timestamp"]]
    rows += [[A, f"event_{n:05}", "2026-01-01"] for n in range(10_000)]
    rows += [[A, "popular", f"2026-01-02T00:00:{n:02}Z"] for n in range(30)]
    import_id = upload_ok(admin, csv_bytes(rows), kind="events")
    preview = get_import(import_id).summary["preview"]
    assert preview["names_total"] == 10_001 and len(preview["names"]) == 20
    assert preview["names"][0] == ["popular", 30]
    page = admin.get(f"/imports/{import_id}").get_data(as_text=True)
    assert "and 9,981 more event names" in page
    table = page.split("data-event-names")[1].split("</table>")[0]
    assert table.count("<tr>") == 1 + 20  # the header and the top 20 names


def test_a_property_sometimes_number_sometimes_text_keeps_each_value(app, admin, shop):
    add_customers(shop, 1)
    rows = [
        [*HEADER, "size", "zip"],
        [A, "fit", "2026-01-01", "1", "42", "02139"],
        [A, "fit", "2026-01-02", "2", "XL", "10001"],
        [A, "fit", "2026-01-03", "3", "-3.5", ""],
    ]
    import_id = upload_ok(admin, csv_bytes(rows), kind="events")
    assert get_import(import_id).summary["preview"]["properties"] == {
        "size": "mixed",
        "zip": "mixed",
    }
    page = admin.get(f"/imports/{import_id}").get_data(as_text=True)
    assert "holds a number in some rows and text in others" in page
    confirm(admin, import_id)
    run_jobs(app)
    assert [e.properties for e in events(shop)] == [
        {"size": 42, "zip": "02139"},  # a leading zero is kept as written
        {"size": "XL", "zip": 10001},
        {"size": -3.5},
    ]


def test_revert_deletes_the_events_the_import_added(app, admin, shop):
    add_customers(shop, 1)
    import_events(app, admin, [HEADER, [A, "visit", "2026-01-01", "v-0"]], name="old.csv")
    rows = [HEADER] + [[A, "visit", f"2026-01-{n:02}", f"v-{n}"] for n in range(1, 6)]
    rows.append([A, "visit", "2026-01-01", "v-0"])  # imported by the other file: stays
    import_id = import_events(app, admin, rows)
    page = admin.get(f"/imports/{import_id}/revert").get_data(as_text=True)
    assert "<strong>5 events</strong>" in page
    assert admin.post(f"/imports/{import_id}/revert", {}).status_code == 302
    run_jobs(app)
    job = get_import(import_id)
    assert job.status == "reverted" and job.summary["revert"]["done"] == 5
    assert [e.external_id for e in events(shop)] == ["v-0"]
    again = import_events(app, admin, rows)  # after a revert, the events come back
    assert get_import(again).applied_rows == 5


def test_another_shops_customers_are_never_matched(app, admin, shop, shopify_double):
    other = make_shop(shopify_double, "other-shop.myshopify.com")
    add_customers(other, 1, first_id=A)
    rows = [
        ["shopify_id", "email", "event_name", "timestamp"],
        [A, "", "visit", "2026-01-01"],
        ["", f"c{A}@example.com", "visit", "2026-01-02"],
    ]
    import_id = upload_ok(admin, csv_bytes(rows), kind="events")
    assert get_import(import_id).summary["preview"]["valid_rows"] == 0
    assert len(row_errors(import_id)) == 2
    assert count(CustomerEvent) == 0


def test_new_events_earn_their_points_once(app, admin, shop):
    add_customers(shop, 2)
    earn_for(shop, review_posted=50)
    rows = [
        HEADER,
        [A, "review_posted", "2026-01-01", "r-1"],
        [A, "review_posted", "2026-01-02", "r-2"],
        [B, "review_posted", "2026-01-03", "r-3"],
        [B, "store_visit", "2026-01-03", "s-1"],
    ]
    import_events(app, admin, rows, name="one.csv")
    assert (balance(shop, A), balance(shop, B)) == (100, 50)
    import_events(app, admin, [*rows, [B, "review_posted", "2026-01-04", "r-4"]], name="two.csv")
    assert (balance(shop, A), balance(shop, B)) == (100, 100)
    entries = [e for e in _ledger() if e.source == "event"]
    assert len(entries) == 4 and {e.description for e in entries} == {"Review posted"}
    assert sorted(e.balance_after for e in entries) == [50, 50, 100, 100]


def _ledger() -> list[PointsEntry]:
    db.session.expire_all()
    return list(db.session.execute(select(PointsEntry)).scalars())


def test_the_customer_activity_pages_through_events_newest_first(app, admin, shop):
    add_customers(shop, 1)
    rows = [[*HEADER, "note"]]
    rows += [[A, f"step_{n:02}", f"2026-01-01T10:{n:02}:00Z", f"s-{n}", "x" * n] for n in range(30)]
    import_events(app, admin, rows)
    first = admin.get(f"/customers/{customer_id(shop, A)}").get_data(as_text=True)
    activity = first.split("data-activity")[1].split("</table>")[0]
    names = re.findall(r"<td>(step_\d\d)</td>", activity)
    assert names == [f"step_{n:02}" for n in range(29, 4, -1)]  # 25, newest first
    older = re.search(r"events_before=(\d+)", html.unescape(first))
    assert older is not None
    path = f"/customers/{customer_id(shop, A)}"
    second = admin.get(path, query_string={"events_before": older.group(1)}).get_data(as_text=True)
    rest = re.findall(r"<td>(step_\d\d)</td>", second.split("data-activity")[1])
    assert rest == [f"step_{n:02}" for n in range(4, -1, -1)]
    assert "data-older-events" not in second


def test_the_sample_events_file_imports_as_it_is(app, admin, shop):
    add_customers(shop, 3)
    page = admin.get("/imports").get_data(as_text=True)
    assert 'value="events"' in page and "/imports/samples/events.csv" in page
    sample = admin.get("/imports/samples/events.csv").get_data()
    import_id = upload_ok(admin, sample, name="sample-events.csv", kind="events")
    preview = get_import(import_id).summary["preview"]
    assert preview["error_rows"] == 0 and preview["new_events"] == 3
