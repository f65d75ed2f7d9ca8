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

from shopify_app.extensions import db
from shopify_app.jobs.imports import run_import
from shopify_app.models import (
    Customer,
    ExportJob,
    Invitation,
    InvitationBatch,
    Shop,
)
from shopify_app.services import compliance
from shopify_app.services import exports as exports_service
from shopify_app.services.points import add_points
from shopify_app.services.program import join_program
from tests.admin.factories import make_referral, make_reward
from tests.csv_imports.importing import (
    add_customers,
    balance,
    confirm,
    csv_bytes,
    get_import,
    import_file,
    upload_ok,
)
from tests.helpers import deliver, run_jobs

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
    run_jobs(app)
    waiting_contacts = upload_ok(
        admin, csv_bytes([*contacts_rows, ["Ada", "Ng", "ada@example.com", "en"]]), **form
    )
    waiting_points = upload_ok(
        admin, csv_bytes([*points_rows, [f"'{zid}", 3, "Excel"], [oid, 4, "Later"]])
    )
    for import_id in (done_points, done_contacts):
        assert get_import(import_id).status == "done"
    for import_id in (waiting_contacts, waiting_points):
        job = get_import(import_id)
        assert job.status == "previewed"
        assert EMAIL in str(job.summary["preview"]["sample"]) or str(zid) in str(job.summary)

    # Exports, one of them searched for her.
    exports = [_export(app, admin, monkeypatch), _export(app, admin, monkeypatch, q="Quimby")]
    run_jobs(app)
    return zelda, otto, {"waiting": [waiting_contacts, waiting_points], "exports": exports}


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

    monkeypatch.setattr("shopify_app.jobs.imports.rest_after", erase_after_first_batch)
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
