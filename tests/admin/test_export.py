"""The referral program CSV: round-trips to the table's data, is inert in a spreadsheet,
streams in constant memory, and runs as a job with progress when large."""

from __future__ import annotations

import csv
import io
import re
import tracemalloc
from datetime import timedelta

import pytest
from sqlalchemy import insert, select

from shopify_app.customers import queries as table
from shopify_app.customers.export import copy_chunks, python_chunks
from shopify_app.customers.export_jobs import run_export
from shopify_app.platform.extensions import db
from shopify_app.platform.models import Customer, ExportJob, PointBalance
from shopify_app.platform.spreadsheet import neutralise
from tests.factories import T0, make_customer
from tests.helpers import AdminClient, make_shop, run_jobs

HOSTILE = ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\tTab", "\rCR"]


def _parse(body: bytes) -> list[dict[str, str]]:
    assert body.startswith(b"\xef\xbb\xbf"), "UTF-8 BOM, so Excel reads the encoding right"
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"), newline="")))


def _money(minor: int) -> str:
    return f"{minor // 100}.{minor % 100:02d}"


@pytest.fixture
def customers(shop, shopify_double):
    made = [
        make_customer(
            shop,
            first_name=name,
            last_name='Quote " and, comma\nnewline',
            email=f"{n}@example.com",
            state="ENABLED" if n % 2 else "DISABLED",
            joined_at=T0 if n % 3 == 0 else None,
            referral_code=f"CODE{n}",
            total_referees=n,
            successful_referrals=n % 4,
            referrer_revenue_minor=n * 105,
            referee_revenue_minor=n * 1999,
            points_balance=n * 10,
        )
        for n, name in enumerate(HOSTILE + ["Ada", "Léa", "Zoë"])
    ]
    other = make_shop(shopify_double, "other-shop.myshopify.com")
    make_customer(other, first_name="Ada", email="theirs@example.com")
    db.session.commit()
    return made


def test_csv_round_trips_to_the_tables_rows_with_filters_kept(admin, shop, customers):
    args = {"status": "members", "sort": "referee_revenue", "direction": "asc"}
    response = admin.get("/customers/export.csv", query_string=args)
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = _parse(response.get_data())
    expected = table.customer_page(shop, table.TableQuery.from_args(args), page_size=1000).rows
    assert [int(r["Customer ID"]) for r in rows] == [c.id for c in expected]
    for got, want in zip(rows, expected, strict=True):
        assert got["Name"] == neutralise(want.name)
        assert got["Email"] == want.email
        assert got["Shopify status"] == "Member"
        assert got["Program status"] == ("Joined" if want.joined_at else "Not joined")
        assert got["Referral link"] == (
            f"https://test-shop.myshopify.com/apps/referrals/r/{want.referral_code}"
        )
        assert int(got["Total referees"]) == want.total_referees
        assert int(got["Successful referrals"]) == want.successful_referrals
        assert got["Referrer revenue (USD)"] == _money(want.referrer_revenue_minor)
        assert got["Referee revenue (USD)"] == _money(want.referee_revenue_minor)
        assert got["Referral revenue (USD)"] == _money(
            want.referrer_revenue_minor + want.referee_revenue_minor
        )
        assert int(got["Points"]) == want.points_balance
        assert int(got["Shopify customer ID"]) == want.shopify_id


def test_formula_cells_are_neutralised_and_other_text_kept(admin, customers):
    rows = _parse(admin.get("/customers/export.csv").get_data())
    names = {r["Name"] for r in rows}
    for hostile in HOSTILE:
        # Names are trimmed (a leading tab or CR goes); the rest gets the apostrophe.
        assert neutralise(f'{hostile} Quote " and, comma\nnewline'.strip()) in names
    assert '\'=HYPERLINK("http://x") Quote " and, comma\nnewline' in names
    assert 'Léa Quote " and, comma\nnewline' in names
    for row in rows:
        for cell in row.values():
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell


def test_another_shops_customers_are_never_exported(admin, customers):
    rows = _parse(admin.get("/customers/export.csv", query_string={"q": "ada"}).get_data())
    assert [r["Email"] for r in rows] == ["6@example.com"]


def _bulk_customers(shop, count: int, *, members: int) -> None:
    rows = [
        {
            "shop_id": shop.id,
            "first_name": f"F{n}",
            "last_name": "Bulk",
            "email": f"bulk{n}@example.com",
            "email_key": f"bulk{n}@example.com",
            "state": "ENABLED" if n < members else "DISABLED",
            "is_member": n < members,
            "tags": "",
            "unsubscribed": False,
            "total_referees": 0,
            "successful_referrals": 0,
            "referrer_revenue_minor": 0,
            "referee_revenue_minor": n,
            "created_at": T0 + timedelta(seconds=n),
            "updated_at": T0,
        }
        for n in range(count)
    ]
    for start in range(0, count, 20_000):
        db.session.execute(insert(Customer), rows[start : start + 20_000])
    db.session.execute(
        insert(PointBalance).from_select(
            ["customer_id", "shop_id", "balance"],
            select(Customer.id, Customer.shop_id, Customer.referee_revenue_minor).where(
                Customer.shop_id == shop.id, Customer.last_name == "Bulk"
            ),
        )
    )
    db.session.commit()


def _streamed_peak(admin, query: dict[str, str]) -> tuple[int, int, int]:
    """(rows, bytes, peak traced memory) while consuming a streamed export chunk by chunk."""
    tracemalloc.start()
    try:
        response = admin.get("/customers/export.csv", query_string=query, buffered=False)
        size = lines = 0
        for chunk in response.response:
            size += len(chunk)
            lines += chunk.count(b"\n")
        response.close()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return lines - 1, size, peak


@pytest.mark.slow
def test_a_100k_row_export_streams_in_constant_memory(admin, shop):
    _bulk_customers(shop, 100_000, members=20_000)
    small_rows, _, small_peak = _streamed_peak(admin, {"status": "members"})
    rows, size, peak = _streamed_peak(admin, {})
    assert (small_rows, rows) == (20_000, 100_000)
    # Five times the rows, about the same memory: no more than a batch is ever held.
    assert peak < 1.5 * small_peak
    assert peak < 32 * 2**20 and size > 8 * 2**20


def test_a_large_export_runs_as_a_job_with_progress_and_a_download(
    app, admin, shop, customers, monkeypatch, shopify_double
):
    streamed = admin.get("/customers/export.csv", query_string={"status": "guests"}).get_data()
    monkeypatch.setitem(app.config, "EXPORT_STREAM_MAX_ROWS", 2)
    response = admin.get("/customers/export.csv", query_string={"status": "guests"})
    assert response.status_code == 302
    export_id = int(re.search(r"/customers/exports/(\d+)", response.headers["Location"])[1])
    page = admin.get(f"/customers/exports/{export_id}").get_data(as_text=True)
    assert "data-progress-url" in page and "Exporting 5 customers" in page
    queued = admin.get(f"/customers/exports/{export_id}/progress.json", fetch=True).json
    assert (queued["finished"], queued["total"]) == (False, 5)

    run_jobs(app)
    done = admin.get(f"/customers/exports/{export_id}/progress.json", fetch=True).json
    assert done["finished"] and done["percent"] == 100 and done["done"] == 5
    assert done["redirect"].startswith(f"/customers/exports/{export_id}?")
    page = admin.get(f"/customers/exports/{export_id}").get_data(as_text=True)
    assert "Download CSV" in page
    download = admin.get(f"/customers/exports/{export_id}/download")
    assert download.status_code == 200
    assert download.get_data() == streamed
    download.close()

    run_export(export_id)  # a repeated delivery of the job changes nothing
    db.session.expire_all()
    assert db.session.get(ExportJob, export_id).processed_rows == 5

    other = make_shop(shopify_double, "third-shop.myshopify.com")

    theirs = AdminClient(admin.client, other.domain, shopify_double)
    assert theirs.get(f"/customers/exports/{export_id}").status_code == 404
    assert theirs.get(f"/customers/exports/{export_id}/download").status_code == 404


@pytest.mark.parametrize("prefix", ["=", "+", "-", "@", "\t", "\r"])
def test_neutralise_quotes_every_formula_prefix(prefix):
    assert neutralise(prefix + "1+1") == "'" + prefix + "1+1"
    assert neutralise("a" + prefix) == "a" + prefix


@pytest.mark.parametrize("args", [{}, {"status": "guests", "sort": "name"}, {"q": "ada"}])
def test_copy_and_python_formatting_write_the_same_bytes(shop, customers, args):
    """PostgreSQL formats big exports with COPY; the SQLite demo formats in Python."""

    query = table.TableQuery.from_args(args)
    postgres = db.session.get_bind().dialect.name == "postgresql"
    by_database = b"".join((copy_chunks if postgres else python_chunks)(shop, query))
    assert by_database == b"".join(python_chunks(shop, query))
    assert by_database.count(b"\n") >= (1 if args.get("q") else 4)
