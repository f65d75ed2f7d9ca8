"""Revert and Cancel ask first: a link to a confirm page that counts what will happen.

Without JavaScript the button is a link (GET) to the confirm page; nothing changes until its
form is posted. The counts come from the queries the actions themselves run.
"""

from __future__ import annotations

import re

from sqlalchemy import update

from shopify_app.platform.extensions import db
from shopify_app.platform.models import ImportJob
from tests.csv_imports.importing import (
    add_customers,
    balance,
    confirm,
    csv_bytes,
    get_import,
    ledger,
    upload_ok,
)
from tests.factories import set_balances
from tests.helpers import make_shop, run_jobs
from tests.pages import button_link, post_form, text_of

A, B, C = 7_000_000_001, 7_000_000_002, 7_000_000_003


def finished_points_import(app, admin, shop) -> int:
    add_customers(shop, 3, balance=10)
    rows = [["shopify_id", "points_to_add", "description"]]
    rows += [[A, 30, "a"], [B, 5, "b"], [A, 15, "c"], [C, -4, "d"]]
    import_id = upload_ok(admin, csv_bytes(rows))
    confirm(admin, import_id)
    run_jobs(app)
    assert get_import(import_id).status == "done"
    return import_id


def test_revert_is_a_link_to_a_page_that_counts_what_it_takes_back(app, admin, shop):
    import_id = finished_points_import(app, admin, shop)
    show = admin.get(f"/imports/{import_id}").get_data(as_text=True)
    href = button_link(show, "Revert this import")
    assert href.startswith(f"/imports/{import_id}/revert?")
    assert "shop=test-shop.myshopify.com" in href and "id_token=" in href

    page = admin.client.get(href)  # the link as the browser follows it, token and all
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    words = text_of(body)
    assert f"Revert import #{import_id}?" in words
    assert (
        "4 rows: 50 points are taken back from 3 customers, "
        "and the 4 points this import removed are given back." in words
    )
    assert "This can't be undone." in words
    assert re.search(
        r'<button class="p-button p-button--critical" type="submit"[^>]*>Revert import<', body
    )
    action, fields = post_form(body)
    assert action.startswith(f"/imports/{import_id}/revert?") and fields.get("id_token")

    # Looking changed nothing.
    assert get_import(import_id).status == "done"
    assert ledger(import_id, source="import_revert") == []
    assert [balance(shop, A), balance(shop, B), balance(shop, C)] == [55, 15, 6]

    assert admin.post(action.split("?")[0]).status_code == 302
    run_jobs(app)
    assert get_import(import_id).status == "reverted"
    assert [balance(shop, A), balance(shop, B), balance(shop, C)] == [10, 10, 10]


def test_revert_page_says_why_it_cannot_revert_and_offers_no_button(app, admin, shop):
    import_id = finished_points_import(app, admin, shop)
    set_balances(shop, 1, shopify_id=B)
    db.session.commit()

    body = admin.get(f"/imports/{import_id}/revert").get_data(as_text=True)
    words = text_of(body)
    assert "1 customer has spent points since this import" in words
    assert "Adjust their points first, then revert." in words
    assert "4 rows: 50 points are taken back from 3 customers" in words
    assert ">Revert import<" not in body and 'type="submit"' not in body
    assert get_import(import_id).status == "done"


def test_revert_page_of_another_shop_is_not_found(app, admin, shop, shopify_double):
    other = make_shop(shopify_double, "other-shop.myshopify.com")
    job = ImportJob(
        shop_id=other.id,
        kind="points",
        filename="x.csv",
        file_path="/nope",
        file_sha256="0" * 64,
        status="done",
        applied_rows=1,
    )
    db.session.add(job)
    db.session.commit()
    assert admin.get(f"/imports/{job.id}/revert").status_code == 404
    assert admin.get(f"/imports/{job.id}/cancel").status_code == 404


def test_cancel_is_a_link_to_a_page_that_says_what_stays_applied(app, admin, shop, monkeypatch):
    add_customers(shop, 1)
    rows = [["shopify_id", "points_to_add"]] + [[A, 1]] * 100
    import_id = upload_ok(admin, csv_bytes(rows))
    confirm(admin, import_id)
    # A worker part-way through: 40 rows applied, batches of 25.
    db.session.execute(
        update(ImportJob)
        .where(ImportJob.id == import_id)
        .values(status="running", processed_rows=40, applied_rows=40, last_row_number=41)
    )
    db.session.commit()
    monkeypatch.setitem(app.config, "IMPORT_BATCH_ROWS", 25)

    show = admin.get(f"/imports/{import_id}").get_data(as_text=True)
    href = button_link(show, "Cancel import")
    assert href.startswith(f"/imports/{import_id}/cancel?") and "id_token=" in href
    body = admin.client.get(href).get_data(as_text=True)
    words = text_of(body)
    assert "Stop importing?" in words
    assert (
        "40 of 100 rows are already applied and stay applied; the rest are not imported." in words
    )
    assert "can still apply up to 25 more rows" in words
    assert "You can revert the applied rows afterwards." in words
    assert ">Keep importing</a>" in body
    assert re.search(
        r'<button class="p-button p-button--critical" type="submit"[^>]*>Stop import<', body
    )
    assert get_import(import_id).cancel_requested is False

    action, _ = post_form(body)
    assert admin.post(action.split("?")[0]).status_code == 302
    assert get_import(import_id).cancel_requested is True


def test_cancel_page_of_a_finished_import_has_nothing_to_cancel(app, admin, shop):
    import_id = finished_points_import(app, admin, shop)
    body = admin.get(f"/imports/{import_id}/cancel").get_data(as_text=True)
    assert "This import is done; there is nothing to cancel." in text_of(body)
    assert 'type="submit"' not in body


def test_revert_page_speaks_of_one_row_in_the_singular(app, admin, shop):
    add_customers(shop, 1)
    import_id = upload_ok(admin, csv_bytes([["shopify_id", "points_to_add"], [A, 1]]))
    confirm(admin, import_id)
    run_jobs(app)
    words = text_of(admin.get(f"/imports/{import_id}/revert").get_data(as_text=True))
    assert "1 row: 1 point is taken back from 1 customer." in words
