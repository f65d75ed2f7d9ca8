"""Helpers for import tests: customers to import into, files as merchants make them, the flow."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from shopify_app.imports.preview import create_import
from shopify_app.platform.extensions import db
from shopify_app.platform.models import (
    Customer,
    ImportJob,
    ImportRowError,
    PointBalance,
    PointsEntry,
    Shop,
)
from tests.factories import make_customers
from tests.helpers import AdminClient

ROOT = Path(__file__).resolve().parents[2]


def add_customers(shop: Shop, count: int, *, first_id: int = 7_000_000_001, balance: int = 0):
    """`count` customers with consecutive Shopify ids; returns their Shopify ids."""
    ids = list(range(first_id, first_id + count))
    make_customers(
        shop,
        [
            {
                "shopify_id": shopify_id,
                "email": f"c{shopify_id}@example.com",
                "first_name": "C",
                "last_name": str(shopify_id),
                "state": "DISABLED",
                "points_balance": balance,
            }
            for shopify_id in ids
        ],
    )
    db.session.commit()
    return ids


def balance(shop: Shop, shopify_id: int) -> int:
    db.session.expire_all()
    return db.session.execute(
        select(PointBalance.balance)
        .join(Customer, Customer.id == PointBalance.customer_id)
        .where(Customer.shop_id == shop.id, Customer.shopify_id == shopify_id)
    ).scalar_one()


def ledger(import_id: int | None = None, source: str = "import") -> list[PointsEntry]:
    db.session.expire_all()
    query = select(PointsEntry).where(PointsEntry.source == source).order_by(PointsEntry.row_number)
    if import_id is not None:
        query = query.where(PointsEntry.import_id == import_id)
    return list(db.session.execute(query).scalars())


def row_errors(import_id: int) -> dict[int, ImportRowError]:
    db.session.expire_all()
    rows = db.session.execute(
        select(ImportRowError).where(ImportRowError.import_id == import_id)
    ).scalars()
    return {row.row_number: row for row in rows}


def count(model: Any) -> int:
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def get_import(import_id: int) -> ImportJob:
    db.session.expire_all()
    job = db.session.get(ImportJob, import_id)
    assert job is not None
    return job


def upload(
    admin: AdminClient, content: bytes, *, name: str = "points.csv", kind: str = "points", **form
):
    """POST the file as the import page's form does; returns the response.

    The body is encoded here, in memory: werkzeug's test client spools a large multipart body
    to a temporary file it never closes, which a later test would report as a leak.
    """
    token = admin.token()
    file = FileStorage(io.BytesIO(content), filename=name, content_type="text/csv")
    boundary, body = encode_multipart({"kind": kind, **form, "id_token": token, "file": file})
    return admin.client.post(
        "/imports",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
        query_string={"id_token": token},
    )


def upload_ok(admin: AdminClient, content: bytes, **kwargs) -> int:
    response = upload(admin, content, **kwargs)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return int(response.headers["Location"].split("/imports/")[1].split("?")[0])


def import_file(
    shop: Shop, content: bytes, *, name: str = "points.csv", kind: str = "points"
) -> int:
    """Upload through the service (big files: the test client leaks its spooled body file)."""

    job = create_import(shop, kind, name, io.BytesIO(content))
    db.session.commit()
    return job.id


def confirm(admin: AdminClient, import_id: int, **form) -> Any:
    return admin.post(f"/imports/{import_id}/confirm", {"apply_with_errors": "1", **form})


def csv_bytes(rows: list[list[Any]], *, delimiter: str = ",", encoding: str = "utf-8") -> bytes:
    lines = [delimiter.join(str(v) for v in row) for row in rows]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)
