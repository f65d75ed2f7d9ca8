"""Erasure reaches every table and every file: one customer seeded everywhere the app writes,
a signed customers/redact through the real webhook path, then a scan of it all.

The scans are generic (every column of every table in the metadata, every file under
IMPORT_DIR and EXPORT_DIR), so a table or file added later is covered without a change here.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from flask import Flask
from sqlalchemy import inspect, select

from shopify_app.customers import export as exports_service
from shopify_app.imports.jobs import run_import
from shopify_app.loyalty.ledger import add_points
from shopify_app.platform.extensions import db
from shopify_app.platform.models import (
    Customer,
    ExportJob,
    ImportJob,
    ImportRowError,
    Invitation,
    InvitationBatch,
    PointsEntry,
    Shop,
)
from shopify_app.privacy import requests as compliance
from shopify_app.program.config import join_program
from tests.csv_imports.importing import (
    add_customers,
    balance,
    confirm,
    csv_bytes,
    get_import,
    import_file,
    upload_ok,
)
from tests.factories import make_referral, make_reward
from tests.helpers import AdminClient, deliver, make_shop, run_jobs

FIRST, LAST, EMAIL = "Zelda", "Quimby", "zelda.quimby.erase@example.com"
TRACES = (FIRST.lower(), LAST.lower(), EMAIL)
KEEPER_EMAIL = "otto.keeper@example.com"


def database_text() -> dict[str, str]:
    """Every value of every column of every table the models declare, lower-cased, by table."""
    tables = {t.name for t in db.metadata.sorted_tables}
    stored = set(inspect(db.engine).get_table_names()) - {"alembic_version"}
    assert stored <= tables, f"tables the models do not declare: {stored - tables}"
    found = {}
    for table in db.metadata.sorted_tables:
        values = []
        for row in db.session.execute(select(table)):
            values.extend(str(v) for v in row if v is not None)
        found[table.name] = "\n".join(values).lower()
    return found


def files_text(app: Flask) -> dict[str, str]:
    """Every file under IMPORT_DIR and EXPORT_DIR, decoded, lower-cased, by path."""
    found = {}
    for root in (app.config["IMPORT_DIR"], app.config["EXPORT_DIR"]):
        for path in Path(root).rglob("*"):
            if path.is_file():
                data = path.read_bytes()
                encoding = "utf-16" if data[:2] in (b"\xff\xfe", b"\xfe\xff") else "utf-8"
                found[str(path)] = data.decode(encoding, errors="replace").lower()
    return found


def traces_left(app: Flask) -> list[str]:
    db.session.expire_all()
    left = [f"{table}: {t}" for table, text in database_text().items() for t in TRACES if t in text]
    for path, text in files_text(app).items():
        left += [f"{path}: {t}" for t in TRACES if t in text]
    return left


def _customer(client, d, shop, first, last, email):
    c = d.add_customer(shop.domain, first_name=first, last_name=last, email=email)
    deliver(client, d, "customers/create", shop.domain, d.customer_payload(shop.domain, c))
    return c


def _export(app, admin, monkeypatch, **args) -> int:
    monkeypatch.setitem(app.config, "EXPORT_STREAM_MAX_ROWS", 0)
    response = admin.get("/customers/export.csv", query_string=args)
    assert response.status_code == 302
    return int(re.search(r"/customers/exports/(\d+)", response.headers["Location"])[1])


def _seed_everywhere(app, client, admin, d, shop, monkeypatch):
    """Zelda in every table and file the app writes; Otto beside her in the same files."""
    z = _customer(client, d, shop, FIRST, LAST, EMAIL)
    o = _customer(client, d, shop, "Otto", "Keeper", KEEPER_EMAIL)
    z_update = d.customer_payload(shop.domain, z) | {"note": f"{FIRST} {LAST} called"}
    deliver(client, d, "customers/update", shop.domain, z_update)
    order = d.add_order(shop.domain, customer_id=z["id"], total="12.00")
    deliver(client, d, "orders/paid", shop.domain, d.order_payload(shop.domain, order))
    deliver(
        client,
        d,
        "customers/data_request",
        shop.domain,
        d.compliance_payload("customers/data_request", shop.domain, z),
    )
    run_jobs(app)
    zelda = db.session.execute(select(Customer).where(Customer.email == EMAIL)).scalar_one()
    otto = db.session.execute(select(Customer).where(Customer.email == KEEPER_EMAIL)).scalar_one()

    # Program, referrals, rewards, invitations, the ledger.
    join_program(shop, zelda)
    join_program(shop, otto)
    referral = make_referral(shop, otto, zelda, status="pending")
    make_reward(shop, zelda, referral=make_referral(shop, zelda, None))
    db.session.add(
        Invitation(
            shop_id=shop.id,
            customer_id=zelda.id,
            email=EMAIL,
            status="failed",
            error=f"SMTPRecipientsRefused: {EMAIL} refused",
        )
    )
    db.session.add(
        InvitationBatch(
            shop_id=shop.id,
            status="done",
            selection={"matching": {"q": "quimby"}, "send": True},
            error=f"1 failed: {EMAIL}",
        )
    )
    add_points(shop, zelda, 5, description=f"Birthday gift for {FIRST}")
    add_points(shop, otto, 7, description=f"Referred {FIRST} {LAST}")
    assert referral.referee_email == EMAIL
    db.session.commit()

    # Imports: finished ones (their uploads are no longer needed) and previews waiting.
    zid, oid = z["id"], o["id"]
    points_rows = [
        ["shopify_id", "points_to_add", "description"],
        [zid, 50, f"Thanks {FIRST} {LAST} for the review"],
        [oid, 10, "Welcome"],
        [f"gid://shopify/Customer/{zid}", "abc", "Second try"],
    ]
    done_points = upload_ok(admin, csv_bytes(points_rows))
    confirm(admin, done_points)
    contacts_rows = [
        ["first_name", "last_name", "email", "locale"],
        [FIRST, LAST, EMAIL, "en"],
        ["Otto", "Keeper", KEEPER_EMAIL, "en"],
        [FIRST, LAST, EMAIL.upper(), "xx-nope"],
    ]
    form = {"kind": "contacts", "segment_id": "new", "new_segment": "Spring fair"}
    done_contacts = upload_ok(admin, csv_bytes(contacts_rows), name="fair.csv", **form)
    confirm(admin, done_contacts)
    people_rows = [
        ["email", "tier", "friend"],
        [EMAIL, "Gold", "Otto"],
        [KEEPER_EMAIL, "Silver", f"{FIRST} {LAST}"],  # her name in his attributes and undo log
    ]
    people = {"kind": "people", "mode": "both"}
    done_people = upload_ok(admin, csv_bytes(people_rows), name="people.csv", **people)
    confirm(admin, done_people, confirm_updates="1")
    run_jobs(app)
    waiting_people = upload_ok(
        admin, csv_bytes([*people_rows, ["ada@example.com", "A", ""]]), **people
    )
    waiting_contacts = upload_ok(
        admin, csv_bytes([*contacts_rows, ["Ada", "Ng", "ada@example.com", "en"]]), **form
    )
    waiting_points = upload_ok(
        admin, csv_bytes([*points_rows, [f"'{zid}", 3, "Excel"], [oid, 4, "Later"]])
    )
    for import_id in (done_points, done_contacts, done_people):
        assert get_import(import_id).status == "done"
    for import_id in (waiting_contacts, waiting_points, waiting_people):
        job = get_import(import_id)
        assert job.status == "previewed"
        assert EMAIL in str(job.summary["preview"]["sample"]) or str(zid) in str(job.summary)

    # Exports, one of them searched for her.
    exports = [_export(app, admin, monkeypatch), _export(app, admin, monkeypatch, q="Quimby")]
    run_jobs(app)
    waiting = [waiting_contacts, waiting_points, waiting_people]
    return zelda, otto, {"waiting": waiting, "exports": exports}


def test_customers_redact_leaves_no_trace_in_any_table_or_file(
    app, client, admin, shop, shopify_double, monkeypatch
):
    d = shopify_double
    zelda, otto, made = _seed_everywhere(app, client, admin, d, shop, monkeypatch)
    zelda_shopify_id, otto_id = zelda.shopify_id, otto.id
    before = traces_left(app)
    seeded = {trace.split(":")[0] for trace in before if "/" not in trace.split(":")[0]}
    assert seeded >= {
        "customers",
        "orders",
        "referrals",
        "invitations",
        "invitation_batches",
        "points_entries",
        "import_jobs",
        "import_row_errors",
        "attribute_changes",
        "export_jobs",
        "data_requests",
        "webhook_events",
    }
    assert any("/imports/" in t for t in before) and any("/exports/" in t for t in before)

    payload = d.compliance_payload("customers/redact", shop.domain, {"id": zelda_shopify_id})
    deliver(client, d, "customers/redact", shop.domain, payload)
    run_jobs(app)

    assert traces_left(app) == []
    # Anonymous aggregates stay; the other customer's data in the same files survives.
    db.session.expire_all()
    files = files_text(app)
    waiting = [get_import(i) for i in made["waiting"]]
    for job in waiting:
        assert job.status == "previewed" and job.file_deleted_at is None
        assert KEEPER_EMAIL in files[job.file_path] or str(otto.shopify_id) in files[job.file_path]
        assert job.summary["erased_rows"] >= 1
    assert "ada@example.com" in files[waiting[0].file_path]
    finished = db.session.scalars(select(ImportJob).where(ImportJob.status == "done")).all()
    assert finished and all(j.file_deleted_at and not Path(j.file_path).exists() for j in finished)
    export = db.session.get(ExportJob, made["exports"][0])
    assert KEEPER_EMAIL in files[export.file_path] and export.processed_rows == 1
    assert db.session.get(ExportJob, made["exports"][1]).params.get("q") is None
    ledger = {
        e.customer_id: e.description
        for e in db.session.scalars(select(PointsEntry).where(PointsEntry.source == "manual"))
    }
    assert ledger[otto_id] == "Referred [redacted]"
    kept = db.session.get(Customer, otto_id)
    assert kept.email == KEEPER_EMAIL and kept.referral_code.startswith("OTTO-")
    erased = db.session.execute(
        select(Customer).where(Customer.shopify_id == zelda_shopify_id)
    ).scalar_one()
    assert erased.redacted_at is not None and erased.points_balance == 55
    reasons = db.session.scalars(select(ImportRowError.reason)).all()
    assert "Erased at the customer's request" in reasons


def test_an_upload_rewritten_for_erasure_keeps_its_row_numbers(
    app, client, admin, shop, shopify_double
):
    """Row 3 (hers) becomes blank; rows 4 and 5 keep their numbers through the import."""
    d = shopify_double
    z = _customer(client, d, shop, FIRST, LAST, EMAIL)
    o = _customer(client, d, shop, "Otto", "Keeper", KEEPER_EMAIL)
    run_jobs(app)
    content = csv_bytes(
        [
            ["shopify_id", "points_to_add", "description"],
            [o["id"], 1, "first"],
            [z["id"], 50, '"Multi\nline, for Zelda"'],
            [o["id"], "lots", "rejected"],
            [o["id"], 2, "last"],
        ]
    )
    import_id = upload_ok(admin, content)
    payload = d.compliance_payload("customers/redact", shop.domain, z)
    deliver(client, d, "customers/redact", shop.domain, payload)
    run_jobs(app)
    confirm(admin, import_id)
    run_jobs(app)

    job = get_import(import_id)
    assert (job.status, job.applied_rows, job.error_rows) == ("done", 2, 1)
    entries = db.session.scalars(
        select(PointsEntry.row_number).where(PointsEntry.import_id == import_id)
    ).all()
    assert sorted(entries) == [2, 5]
    errors = db.session.scalars(
        select(ImportRowError.row_number).where(ImportRowError.import_id == import_id)
    ).all()
    assert errors == [4]
    page = admin.get(f"/imports/{import_id}").get_data(as_text=True)
    assert "Rows erased at a customer&#39;s request" in page


def test_a_running_import_resumes_on_the_rewritten_file(app, ctx, shop, monkeypatch):
    """Rows read from the old file after an erasure replaced it are never applied."""
    keep, gone = add_customers(shop, 2)
    rows = [["shopify_id", "points_to_add"]] + [[keep if n % 2 else gone, 1] for n in range(40)]
    import_id = import_file(shop, csv_bytes(rows))
    job = get_import(import_id)
    job.status, job.apply_with_errors = "queued", True
    db.session.commit()
    monkeypatch.setitem(app.config, "IMPORT_BATCH_ROWS", 4)
    path = Path(job.file_path)
    blanked = [[] if row[0] == gone else row for row in rows]  # an empty line keeps its number
    erased = []

    def erase_after_first_batch(redis, seconds):
        """What an erasure does to the file: her records blank, renamed over the old one."""
        if not erased:
            replacement = path.with_suffix(".new")
            replacement.write_bytes(csv_bytes(blanked))
            os.replace(replacement, path)
            erased.append(True)

    monkeypatch.setattr("shopify_app.imports.apply.rest_after", erase_after_first_batch)
    assert run_import(import_id) == "done"
    # The first batch (rows 2-5) applied 2 of hers before the erasure; none after it.
    assert balance(shop, gone) == 2
    assert balance(shop, keep) == 20
    assert get_import(import_id).applied_rows == 22


def test_an_export_finishing_after_the_erasure_leaves_the_customer_out(
    app, client, admin, shop, shopify_double, monkeypatch
):
    d = shopify_double
    z = _customer(client, d, shop, FIRST, LAST, EMAIL)
    _customer(client, d, shop, "Otto", "Keeper", KEEPER_EMAIL)
    run_jobs(app)
    export_id = _export(app, admin, monkeypatch)
    written = exports_service.csv_chunks
    payload = d.compliance_payload("customers/redact", shop.domain, z)

    def chunks_then_erasure(shop_, query, *, on_rows=None):
        yield from written(shop_, query, on_rows=on_rows)
        # The erasure commits after the rows were read, before the file is in place.
        compliance.redact_customer(db.session.get(Shop, shop_.id), payload)
        db.session.commit()

    monkeypatch.setattr(exports_service, "csv_chunks", chunks_then_erasure)
    run_jobs(app)
    db.session.expire_all()
    job = db.session.get(ExportJob, export_id)
    text = Path(job.file_path).read_text(encoding="utf-8-sig").lower()
    assert KEEPER_EMAIL in text and EMAIL not in text and "zelda" not in text
    assert job.processed_rows == 1


def test_shop_redact_removes_every_file_of_the_shop_and_keeps_other_shops(
    app, client, admin, shop, shopify_double, monkeypatch
):
    d = shopify_double
    other = make_shop(d, "keeper-files.myshopify.com")
    theirs = AdminClient(client, other.domain, d)
    made = {}
    for owner, merchant in ((shop, admin), (other, theirs)):
        c = _customer(client, d, owner, "Ann", owner.handle, f"ann@{owner.handle}.example")
        run_jobs(app)
        rows = [["shopify_id", "points_to_add"], [c["id"], 5]]
        done = upload_ok(merchant, csv_bytes(rows))
        confirm(merchant, done)
        waiting = upload_ok(merchant, csv_bytes([*rows, [c["id"], 6]]))
        export = _export(app, merchant, monkeypatch)
        run_jobs(app)
        db.session.expire_all()
        rows_with_files = [get_import(done), get_import(waiting), db.session.get(ExportJob, export)]
        made[owner.id] = [Path(r.file_path) for r in rows_with_files]
        assert all(path.is_file() for path in made[owner.id])
    shop_id, other_id = shop.id, other.id
    # An orphan (a killed upload) in the shop's folder goes too.
    orphan = Path(app.config["IMPORT_DIR"]) / str(shop_id) / "orphan.csv"
    orphan.write_text("shopify_id,points_to_add\n1,1\n")

    deliver(client, d, "app/uninstalled", shop.domain, d.shop_payload(shop.domain))
    run_jobs(app)
    deliver(client, d, "shop/redact", shop.domain, d.compliance_payload("shop/redact", shop.domain))
    run_jobs(app)

    for root in (app.config["IMPORT_DIR"], app.config["EXPORT_DIR"]):
        assert not (Path(root) / str(shop_id)).exists()
    assert not any(path.exists() for path in made[shop_id])
    assert all(path.is_file() for path in made[other_id])
    db.session.expire_all()
    assert db.session.execute(select(ExportJob.shop_id)).scalars().all() == [other_id]


def test_an_upload_that_cannot_be_rewritten_is_deleted_and_the_preview_discarded(
    app, client, admin, shop, shopify_double
):
    d = shopify_double
    z = _customer(client, d, shop, FIRST, LAST, EMAIL)
    run_jobs(app)
    import_id = upload_ok(admin, csv_bytes([["shopify_id", "points_to_add"], [z["id"], 5]]))
    path = Path(get_import(import_id).file_path)
    # Changed on disk since the preview: no longer text in the encoding it was read in.
    path.write_bytes(b"shopify_id,points_to_add\r\n" + f"{z['id']},5\xff\xfe\r\n".encode("latin-1"))
    payload = d.compliance_payload("customers/redact", shop.domain, z)
    deliver(client, d, "customers/redact", shop.domain, payload)
    run_jobs(app)

    job = get_import(import_id)
    assert not path.exists() and job.file_deleted_at is not None and job.status == "cancelled"
    page = admin.get(f"/imports/{import_id}").get_data(as_text=True)
    assert "The uploaded file was deleted" in page and "data-confirm-form" not in page
