"""People imports as jobs: exactly once, resumed after a crash or a killed worker, reverted,
from the command line; and the attributes on the customer page."""

from __future__ import annotations

import html
import io
import re

import pytest
from redis import Redis
from sqlalchemy import func, select

from shopify_app.imports.jobs import run_import
from shopify_app.imports.preview import create_import
from shopify_app.loyalty.ledger import add_points
from shopify_app.platform.extensions import db
from shopify_app.platform.models import (
    AttributeChange,
    AttributeDefinition,
    Customer,
    ImportJob,
    Shop,
)
from tests.csv_imports.importing import confirm, count, get_import, upload_ok
from tests.factories import make_customer
from tests.helpers import run_jobs
from tests.workers import wait_for


def people(admin, content: bytes, **form) -> int:
    return upload_ok(admin, content, name="people.csv", kind="people", **form)


def attributes_of(customer_id: int) -> dict | None:
    db.session.expire_all()
    return db.session.get(Customer, customer_id).attributes


@pytest.fixture
def ann(shop) -> Customer:
    customer = make_customer(
        shop, email="ann@example.com", first_name="Ann", attributes={"tier": "Silver"}
    )
    db.session.commit()
    return customer


def test_running_the_job_again_or_reuploading_applies_nothing_twice(app, admin, shop, ann):
    content = b"email,tier,visits\r\nann@example.com,Gold,3\r\nnew@example.com,Bronze,1\r\n"
    import_id = people(admin, content, mode="both")
    confirm(admin, import_id, confirm_updates="1")
    run_jobs(app)
    assert run_import(import_id) == "skipped"
    again = people(admin, content, mode="both")
    confirm(admin, again, confirm_updates="1")  # without "Import it again"
    run_jobs(app)
    assert get_import(again).status == "previewed"
    assert count(Customer) == 2
    assert get_import(import_id).summary["result"] == {"created": 1, "updated": 1, "unchanged": 0}


def test_a_run_that_crashed_after_a_batch_resumes_after_it(app, ctx, shop, monkeypatch):
    rows = "".join(f"c{n}@example.com,{n}\r\n" for n in range(10))
    import_id = _people_file(shop, f"email,visits\r\n{rows}".encode(), mode="create")
    monkeypatch.setitem(app.config, "IMPORT_BATCH_ROWS", 4)
    crashes = []

    def crash_once(redis, seconds):
        if not crashes:
            crashes.append(True)
            raise RuntimeError("worker lost")

    monkeypatch.setattr("shopify_app.imports.apply.rest_after", crash_once)
    with pytest.raises(RuntimeError):
        run_import(import_id)
    assert (get_import(import_id).status, get_import(import_id).last_row_number) == ("failed", 5)
    assert run_import(import_id) == "done"

    job = get_import(import_id)
    assert job.summary["result"] == {"created": 10, "updated": 0, "unchanged": 0}
    assert (job.applied_rows, job.error_rows, job.attempts) == (10, 0, 2)
    assert count(Customer) == 10 and count(AttributeChange) == 10


def _people_file(shop: Shop, content: bytes, **settings) -> int:
    """Upload and confirm through the services (the test then runs the job itself)."""
    import_id = import_file_as_people(shop, content, settings)
    job = get_import(import_id)
    job.status, job.apply_with_errors = "queued", True
    db.session.commit()
    return import_id


def import_file_as_people(shop: Shop, content: bytes, settings: dict) -> int:
    """Upload through the service (big files: the test client leaks its spooled body file)."""
    job = create_import(shop, "people", "people.csv", io.BytesIO(content), people=settings)
    db.session.commit()
    return job.id


@pytest.mark.slow
def test_a_killed_worker_resumes_and_creates_each_contact_once(app, admin, shop, workers):
    total = 60_000  # two batches of PostgreSQL's 50,000: killed in the second
    rows = "".join(f"p{n}@example.com,{n % 7},2026-01-0{1 + n % 9}\r\n" for n in range(total))
    import_id = import_file_as_people(
        shop, f"email,visits,last_seen\r\n{rows}".encode(), {"mode": "create"}
    )
    confirm(admin, import_id)
    first = workers.start()
    wait_for(lambda: 0 < get_import(import_id).processed_rows, timeout=120, interval=0.02)
    first.kill()
    job = get_import(import_id)
    assert job.status == "running" and job.processed_rows < total, "killed too late"

    Redis.from_url(app.config["REDIS_URL"]).delete("shopify_app:sweeper")
    workers.start()
    wait_for(lambda: get_import(import_id).status == "done", timeout=240)
    job = get_import(import_id)
    assert job.attempts == 2 and job.processed_rows == total and job.error_rows == 0
    assert job.summary["result"]["created"] == total
    assert count(Customer) == total and count(AttributeChange) == total


def test_revert_restores_the_values_it_replaced_and_deletes_its_contacts(app, admin, shop, ann):
    later = make_customer(shop, email="later@example.com", attributes={"tier": "Gold"})
    db.session.commit()
    content = (
        b"email,tier,visits\r\n"
        b"ann@example.com,Gold,3\r\n"
        b"later@example.com,Platinum,\r\n"
        b"new@example.com,Bronze,1\r\n"
    )
    import_id = people(admin, content, mode="both")
    confirm(admin, import_id, confirm_updates="1")
    run_jobs(app)
    # Changed since the import: the revert leaves the newer value.
    db.session.get(Customer, later.id).attributes = {"tier": "Diamond"}
    db.session.commit()

    ask = re.sub(r"<[^>]+>", "", admin.get(f"/imports/{import_id}/revert").get_data(as_text=True))
    assert "2 customers get back the attributes" in ask and "1 contact it created" in ask
    admin.post(f"/imports/{import_id}/revert", {})
    run_jobs(app)

    job = get_import(import_id)
    assert job.status == "reverted"
    assert attributes_of(ann.id) == {"tier": "Silver"}
    assert attributes_of(later.id) == {"tier": "Diamond"}
    assert (
        db.session.execute(
            select(Customer).where(Customer.email_key == "new@example.com")
        ).scalar_one_or_none()
        is None
    )
    revert = job.summary["revert"]
    assert (revert["restored"], revert["deleted"], revert["kept"]) == (1, 1, 1)
    assert count(AttributeChange) == 0
    page = html.unescape(admin.get(f"/imports/{import_id}").get_data(as_text=True))
    assert "1 contacts the import created were deleted" in page


def test_revert_keeps_a_contact_who_joined_since(app, admin, shop):
    import_id = people(admin, b"email,tier\r\nfresh@example.com,Gold\r\n", mode="create")
    confirm(admin, import_id)
    run_jobs(app)
    fresh = db.session.execute(select(Customer)).scalar_one()
    add_points(shop, fresh, 50, description="Welcome")
    db.session.commit()
    admin.post(f"/imports/{import_id}/revert", {})
    run_jobs(app)
    assert get_import(import_id).status == "reverted"
    assert attributes_of(fresh.id) is None


def test_import_people_command_previews_then_applies(runner, shop, tmp_path, ann):
    path = tmp_path / "people.csv"
    path.write_bytes(b"email,tier,visits\r\nann@example.com,Gold,4\r\nbad,Gold,1\r\n")
    dry = runner.invoke(args=["import-people", "--shop", shop.domain, "--dry-run", str(path)])
    assert dry.exit_code == 0, dry.output
    assert "visits: number" in dry.output
    assert "0 new contacts, 1 customers updated, 0 unchanged; 1 rows rejected" in dry.output
    assert attributes_of(ann.id) == {"tier": "Silver"}

    result = runner.invoke(
        args=["import-people", "--shop", shop.domain, "--mode", "both", str(path)]
    )
    assert result.exit_code == 0, result.output
    assert "done: 1 rows applied, 1 rejected" in result.output
    assert attributes_of(ann.id) == {"tier": "Gold", "visits": 4}


def test_import_people_command_refuses_a_wrong_file(runner, shop, tmp_path):
    path = tmp_path / "people.csv"
    path.write_bytes(b"name,tier\r\nAnn,Gold\r\n")
    result = runner.invoke(args=["import-people", "--shop", shop.domain, str(path)])
    assert result.exit_code == 1
    assert "Missing required column: shopify_id or email" in result.output
    assert count(ImportJob) == 0 and count(Customer) == 0


def test_attributes_show_on_the_customer_page_formatted_by_type(app, admin, shop, ann):
    shop_row = db.session.get(Shop, shop.id)
    shop_row.locale, shop_row.timezone = "de", "Europe/Berlin"
    db.session.commit()
    content = (
        b"email,total_spent,last_order_date,last_seen,newsletter,tier\r\n"
        b"ann@example.com,1234.5,2026-03-01,2026-03-01T22:30:00Z,yes,Gold\r\n"
    )
    import_id = people(admin, content)
    confirm(admin, import_id, confirm_updates="1")
    run_jobs(app)
    page = html.unescape(admin.get(f"/customers/{ann.id}").get_data(as_text=True))
    assert 'data-attribute="total_spent" data-kind="number">1.234,5<' in page
    assert 'data-attribute="last_order_date" data-kind="date">01.03.2026<' in page
    # 22:30 UTC is 23:30 in Berlin.
    assert 'data-attribute="last_seen" data-kind="date">01.03.2026, 23:30:00<' in page
    assert 'data-attribute="newsletter" data-kind="boolean">Yes<' in page
    assert 'data-attribute="tier" data-kind="text">Gold<' in page


def test_contacts_columns_are_typed_and_shown_too(app, admin, shop):
    content = b"first_name,last_name,email,Visits,Source\r\nAda,L,ada@example.com,7,Fair\r\n"
    import_id = upload_ok(
        admin, content, name="c.csv", kind="contacts", segment_id="new", new_segment="Fair"
    )
    confirm(admin, import_id)
    run_jobs(app)
    ada = db.session.execute(select(Customer)).scalar_one()
    assert ada.attributes == {"Visits": 7, "Source": "Fair"}
    defined = select(AttributeDefinition.name, AttributeDefinition.kind)
    kinds = dict(db.session.execute(defined).all())
    assert kinds == {"Visits": "number", "Source": "text"}
    page = admin.get(f"/customers/{ada.id}").get_data(as_text=True)
    assert 'data-attribute="Visits" data-kind="number">7<' in page


def test_an_attribute_held_as_another_type_becomes_text(app, admin, shop, ann):
    first = people(admin, b"email,code\r\nann@example.com,12\r\n")
    confirm(admin, first, confirm_updates="1")
    run_jobs(app)
    second = people(admin, b"email,code\r\nann@example.com,2026-01-01\r\n")
    plan = get_import(second).summary["preview"]["attributes"][0]
    assert (plan["kind"], plan["defined"], plan["stored_as"]) == ("date", "number", "text")
    confirm(admin, second, confirm_updates="1")
    run_jobs(app)
    assert attributes_of(ann.id)["code"] == "2026-01-01"
    kind = db.session.execute(select(AttributeDefinition.kind)).scalar_one()
    assert kind == "text"
    assert db.session.execute(select(func.count()).select_from(AttributeDefinition)).scalar() == 1
