"""Real-world files import correctly, and wrong files are refused with nothing changed."""

from __future__ import annotations

import codecs
import html
import io
from pathlib import Path

import pytest

from shopify_app.imports import reading
from shopify_app.imports.preview import create_import
from shopify_app.platform.errors import ImportFileError
from shopify_app.platform.models import ImportJob, ImportRowError, PointsEntry
from tests.csv_imports.importing import (
    add_customers,
    balance,
    confirm,
    count,
    csv_bytes,
    get_import,
    ledger,
    row_errors,
    upload,
    upload_ok,
)
from tests.helpers import run_jobs

IDS = (7_000_000_001, 7_000_000_002, 7_000_000_003)
DESCRIPTIONS = ("Café crème – bonus", "Welcome, friend", "Été €5 voucher")


def _rows(header=("shopify_id", "points_to_add", "description")):
    return [list(header)] + [[IDS[i], 10 * (i + 1), DESCRIPTIONS[i]] for i in range(3)]


def _quoted(rows, delimiter=","):
    return [[f'"{v}"' if delimiter in str(v) else v for v in row] for row in rows]


VARIANTS = {
    "utf-8": csv_bytes(_quoted(_rows())),
    "utf-8 with BOM (Excel 'CSV UTF-8')": codecs.BOM_UTF8 + csv_bytes(_quoted(_rows())),
    "UTF-16 from Excel ('Unicode Text', tab separated)": codecs.BOM_UTF16_LE
    + csv_bytes(_rows(), delimiter="\t", encoding="utf-16-le"),
    "Windows-1252": csv_bytes(_quoted(_rows()), encoding="cp1252"),
    "semicolon separated": csv_bytes(_quoted(_rows(), ";"), delimiter=";", encoding="cp1252"),
    "tab separated": csv_bytes(_rows(), delimiter="\t"),
    "header case, spaces and aliases": csv_bytes(
        _quoted(_rows(("  Shopify ID ", "Points To Add", " DESCRIPTION")))
    ),
    "blank lines and trailing empty columns": (
        "shopify_id,points_to_add,description,,\r\n\r\n"
        f'{IDS[0]},10,"{DESCRIPTIONS[0]}",,\r\n,,,,\r\n'
        f'{IDS[1]},20,"{DESCRIPTIONS[1]}",,\r\n\r\n\r\n'
        f"{IDS[2]},30,{DESCRIPTIONS[2]},,\r\n"
    ).encode(),
    "LF line endings and no final newline": "\n".join(
        ",".join(str(v) for v in row) for row in _quoted(_rows())
    ).encode(),
}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_file_variant_imports_every_row_exactly(app, admin, shop, variant):
    add_customers(shop, 3)
    import_id = upload_ok(admin, VARIANTS[variant])
    assert confirm(admin, import_id).status_code == 302
    run_jobs(app)

    job = get_import(import_id)
    assert (job.status, job.applied_rows, job.error_rows) == ("done", 3, 0)
    assert [balance(shop, i) for i in IDS] == [10, 20, 30]
    assert [e.description for e in ledger(import_id)] == list(DESCRIPTIONS)


def test_quoted_field_with_newlines_keeps_the_newline_and_the_row_numbers(app, admin, shop):
    add_customers(shop, 2)
    content = (
        "shopify_id,points_to_add,description\r\n"
        f'{IDS[0]},5,"Line one\r\nline two"\r\n'
        f"{IDS[1]},oops,bad\r\n"
    ).encode()
    import_id = upload_ok(admin, content)
    confirm(admin, import_id)
    run_jobs(app)

    assert [e.description for e in ledger(import_id)] == ["Line one\r\nline two"]
    # Row numbers are spreadsheet rows: the quoted newline does not shift the next row.
    assert list(_errors(import_id)) == [3]


def test_utf8_head_with_windows_1252_further_down_is_read_as_windows_1252(app, admin, shop):
    add_customers(shop, 2)
    filler = "".join(f"{IDS[0]},1,plain ascii row\r\n" for _ in range(5000))
    content = (
        "shopify_id,points_to_add,description\r\n" + filler
    ).encode() + f"{IDS[1]},7,Caf\xe9 cr\xe8me\r\n".encode("cp1252")
    import_id = upload_ok(admin, content)
    confirm(admin, import_id)
    run_jobs(app)

    assert get_import(import_id).encoding == "cp1252"
    assert ledger(import_id)[-1].description == "Café crème"
    assert balance(shop, IDS[1]) == 7


def _errors(import_id):

    return row_errors(import_id)


def _stored_files(app, shop) -> set[Path]:
    folder = Path(app.config["IMPORT_DIR"]) / str(shop.id)
    return set(folder.iterdir()) if folder.exists() else set()


def _nothing_changed(app, shop, files_before: set[Path]) -> None:
    assert count(ImportJob) == 0
    assert count(PointsEntry) == 0
    assert count(ImportRowError) == 0
    assert _stored_files(app, shop) == files_before
    assert [balance(shop, i) for i in IDS] == [0, 0, 0]


XLSX = b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00" + b"\x00" * 200 + b"[Content_Types].xml"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10" + b"\x00" * 100


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("points.csv", XLSX, "looks like an Excel workbook (.xlsx)"),
        ("points.csv", PNG, "looks like a PNG image"),
        ("points.csv", b"\x00\x01\x02binary\x00" * 50, "contains binary data"),
        ("points.csv", b"", "points.csv is empty"),
        ("points.csv", b"\xef\xbb\xbf\r\n\r\n  \r\n", "points.csv is empty"),
        ("points.csv", b"shopify_id,points_to_add,description\r\n", "has a header but no rows"),
        ("points.csv", b"shopify_id,points_to_add\r\n\r\n,,\r\n", "has a header but no rows"),
        (
            "points.csv",
            b"Client;Points;Note\r\n7000000001;5;x\r\n",
            "Missing required column: shopify_id. Found: 'Client', 'Points', 'Note' "
            "(read as semicolon-separated)",
        ),
        (
            "points.csv",
            b"shopify_id,amount\r\n7000000001,5\r\n",
            "Missing required column: points_to_add. Found: 'shopify_id', 'amount'",
        ),
        (
            "points.csv",
            b'shopify_id,points_to_add,description\r\n7000000001,5,"Welcome\r\n7000000002,5,x\r\n',
            "Line 2 opens a quoted value that is not closed properly",
        ),
        (
            "points.csv",
            b"shopify_id,points_to_add,description\r\n7000000001,5,ok\r\n"
            b'7000000002,5,"Say "hi" to\r\n',
            "Line 3 opens a quoted value that is not closed properly",
        ),
        (
            "points.csv",
            b"shopify_id,points_to_add,description\r\n7000000001,5,ok\r\n7000000002,5,"
            + b"x" * (1024 * 1024 + 1)
            + b"\r\n",
            "This file can't be read as a CSV from line 3: a value is longer than 1 MB",
        ),
    ],
)
def test_wrong_file_is_refused_with_a_clear_message_and_nothing_changed(
    app, admin, shop, name, content, message
):
    add_customers(shop, 3)
    files = _stored_files(app, shop)
    response = upload(admin, content, name=name)
    assert response.status_code == 400
    page = html.unescape(response.get_data(as_text=True))
    assert message in page
    assert "field limit" not in page and "Error" not in page
    _nothing_changed(app, shop, files)


class _EndlessCsv(io.RawIOBase):
    """A stream of valid rows longer than the size limit, never held in memory at once."""

    def __init__(self, total: int) -> None:
        self.left = total
        self.line = b"7000000001,1,x\r\n" * 4096

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self.left <= 0:
            return 0
        chunk = self.line[: min(len(buffer), self.left, len(self.line))]
        buffer[: len(chunk)] = chunk
        self.left -= len(chunk)
        return len(chunk)


def test_file_over_100_mb_is_refused_while_uploading(app, ctx, shop):
    add_customers(shop, 3)
    files = _stored_files(app, shop)
    stream = io.BufferedReader(_EndlessCsv(reading.MAX_FILE_BYTES + 1024 * 1024))
    with pytest.raises(ImportFileError, match="over the limit of 100 MB"):
        create_import(shop, "points", "huge.csv", stream)
    _nothing_changed(app, shop, files)


@pytest.mark.slow
def test_file_over_two_million_rows_is_refused(app, ctx, shop, tmp_path):
    add_customers(shop, 3)
    files = _stored_files(app, shop)
    path = tmp_path / "many.csv"
    with open(path, "wb") as out:
        out.write(b"shopify_id,points_to_add\n")
        line = f"{IDS[0]},1\n".encode()
        for _ in range(reading.MAX_ROWS // 10_000 + 1):
            out.write(line * 10_000)
    with open(path, "rb") as stream, pytest.raises(ImportFileError, match="more than 2,000,000"):
        create_import(shop, "points", "many.csv", stream)
    _nothing_changed(app, shop, files)


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (codecs.BOM_UTF8 + b"a,b", "utf-8-sig"),
        (codecs.BOM_UTF16_LE + "a,b".encode("utf-16-le"), "utf-16"),
        ("a,b\r\n1,2".encode("utf-16-le"), "utf-16-le"),
        ("email\r\nzoë@example.com".encode(), "utf-8"),
        ("email\r\nzoë@example.com".encode("cp1252"), "cp1252"),
        (b"name\r\n\x81\x8d", "latin-1"),
    ],
)
def test_encoding_detection(head, expected):
    assert reading.detect_encoding(head) == expected


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["shopify_id,points_to_add,description", "1,2,a; b; c"], ","),
        (["shopify_id;points_to_add;description", "1;2;a, b, c"], ";"),
        (["shopify_id\tpoints_to_add", "1\t2"], "\t"),
        (["email", "a@example.com"], ","),
    ],
)
def test_delimiter_detection_trusts_the_header(lines, expected):
    assert reading.detect_delimiter(lines) == expected


@pytest.mark.parametrize(
    ("header", "key"),
    [
        ("  First Name ", "first_name"),
        ("E-mail", "e_mail"),
        ("\ufeffEmail", "email"),
        ("POINTS", "points"),
    ],
)
def test_header_normalisation(header, key):
    assert reading.normalize_header(header) == key
