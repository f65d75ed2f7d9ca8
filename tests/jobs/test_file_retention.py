"""Uploads and export files hold customer data: the worker's sweeper deletes them past their
retention, marks them deleted, and the pages say so in the merchant's words."""

from __future__ import annotations

import os
import re
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import update

from shopify_app.platform.extensions import db
from shopify_app.platform.models import ExportJob, ImportJob
from shopify_app.platform.models.base import utcnow
from shopify_app.worker import sweep_once
from tests.csv_imports.importing import add_customers, confirm, csv_bytes, get_import, upload_ok
from tests.helpers import run_jobs

A, B = 7_000_000_001, 7_000_000_002


def _age(model, row_id: int, column: str, hours: float) -> None:
    db.session.execute(
        update(model).where(model.id == row_id).values({column: utcnow() - timedelta(hours=hours)})
    )
    db.session.commit()


def _points_file(n: int) -> bytes:
    return csv_bytes([["shopify_id", "points_to_add"], [A, n], [B, "lots"], [B, 1]])


def _finished_import(app, admin, n: int) -> int:
    import_id = upload_ok(admin, _points_file(n))
    confirm(admin, import_id)
    run_jobs(app)
    return import_id


def test_uploads_are_deleted_past_retention_once_their_import_is_over(app, admin, shop):
    add_customers(shop, 2)
    done = _finished_import(app, admin, 1)
    reverted = _finished_import(app, admin, 2)
    admin.post(f"/imports/{reverted}/revert")
    run_jobs(app)
    discarded = upload_ok(admin, _points_file(3))
    admin.post(f"/imports/{discarded}/cancel")
    waiting = upload_ok(admin, _points_file(4))
    recent = _finished_import(app, admin, 5)
    assert [get_import(i).status for i in (done, reverted, discarded, waiting, recent)] == [
        "done",
        "reverted",
        "cancelled",
        "previewed",
        "done",
    ]
    paths = {i: Path(get_import(i).file_path) for i in (done, reverted, discarded, waiting, recent)}
    for import_id in (done, reverted, discarded, waiting):
        _age(ImportJob, import_id, "updated_at", 25)

    sweep_once(app, force=True)

    for import_id in (done, reverted, discarded):
        assert not paths[import_id].exists()
        assert get_import(import_id).file_deleted_at is not None
    for import_id in (waiting, recent):  # still needed, or within the retention
        assert paths[import_id].is_file() and get_import(import_id).file_deleted_at is None
    page = admin.get(f"/imports/{done}").get_data(as_text=True)
    assert "The uploaded file was deleted on" in page and 'data-upload-file="deleted"' in page
    # What the page offers needs no file: rejected rows come from the database.
    assert "Download rejected rows" in page and "Revert this import" in page
    rejected = admin.get(f"/imports/{done}/rejected.csv").get_data(as_text=True)
    assert "lots" in rejected
    page = admin.get(f"/imports/{recent}").get_data(as_text=True)
    assert "The uploaded file is deleted 24 hours after the import ends" in page


def test_a_preview_never_confirmed_is_discarded_and_cannot_be_confirmed(app, admin, shop):
    add_customers(shop, 2)
    abandoned = upload_ok(admin, _points_file(1))
    path = Path(get_import(abandoned).file_path)
    _age(ImportJob, abandoned, "updated_at", 24 * 7 + 1)

    sweep_once(app, force=True)

    job = get_import(abandoned)
    assert job.status == "cancelled" and job.file_deleted_at is not None
    assert not path.exists()
    page = admin.get(f"/imports/{abandoned}").get_data(as_text=True)
    assert "This upload expired" in page and "waited more than 7 days" in page
    assert "Confirm and import" not in page and "data-confirm-form" not in page
    response = confirm(admin, abandoned)
    assert response.status_code == 302 and get_import(abandoned).status == "cancelled"


def _export(app, admin, monkeypatch) -> int:
    monkeypatch.setitem(app.config, "EXPORT_STREAM_MAX_ROWS", 0)
    response = admin.get("/customers/export.csv")
    export_id = int(re.search(r"/customers/exports/(\d+)", response.headers["Location"])[1])
    run_jobs(app)
    return export_id


def test_export_files_expire_and_the_page_offers_a_new_export(app, admin, shop, monkeypatch):
    add_customers(shop, 2)
    old, fresh = _export(app, admin, monkeypatch), _export(app, admin, monkeypatch)
    db.session.expire_all()
    old_path = Path(db.session.get(ExportJob, old).file_path)
    _age(ExportJob, old, "finished_at", 25)

    sweep_once(app, force=True)

    db.session.expire_all()
    assert not old_path.exists() and db.session.get(ExportJob, old).file_deleted_at is not None
    page = admin.get(f"/customers/exports/{old}").get_data(as_text=True)
    assert "This export has expired; export again" in page and "data-export-again" in page
    assert "Download CSV" not in page
    download = admin.get(f"/customers/exports/{old}/download")
    assert download.status_code == 410
    assert "This export has expired; export again" in download.get_data(as_text=True)
    page = admin.get(f"/customers/exports/{fresh}").get_data(as_text=True)
    assert "Download CSV" in page and "Download it before" in page
    download = admin.get(f"/customers/exports/{fresh}/download")
    assert download.status_code == 200
    download.close()


def test_files_no_row_knows_of_are_deleted_once_idle(app, admin, shop, monkeypatch):
    """A web process killed mid-upload, or a dead export worker, leaves such files."""
    add_customers(shop, 2)
    kept_upload = Path(get_import(upload_ok(admin, _points_file(1))).file_path)
    kept_export = Path(db.session.get(ExportJob, _export(app, admin, monkeypatch)).file_path)
    folder = {
        "imports": Path(app.config["IMPORT_DIR"]) / str(shop.id),
        "exports": Path(app.config["EXPORT_DIR"]) / str(shop.id),
    }
    stale = [folder["imports"] / "killed-upload.csv", folder["exports"] / "export-99.part"]
    busy = folder["imports"] / "being-written.csv"
    for path in (*stale, busy):
        path.write_text("shopify_id,points_to_add\n1,1\n")
    two_hours_ago = time.time() - 7200
    for path in (*stale, kept_upload, kept_export):
        os.utime(path, (two_hours_ago, two_hours_ago))

    sweep_once(app, force=True)

    assert not any(path.exists() for path in stale)
    assert busy.is_file() and kept_upload.is_file() and kept_export.is_file()
