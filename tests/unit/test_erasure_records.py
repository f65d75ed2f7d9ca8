"""Recognising one person's records and rewriting files without them (pure: no database)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from shopify_app.imports.reading import CsvSource
from shopify_app.privacy.erasure import Person, drop_export_rows, erase_from_upload

ZID = 7338441277598
ZELDA = Person.of(emails=[" Zelda.Q@Example.com"], shopify_ids=[ZID], names=[("Zelda", "Quimby")])


@pytest.mark.parametrize(
    "cell",
    [
        "7338441277598",
        " '7338441277598 ",
        "gid://shopify/Customer/7338441277598",
        "7338441277598.0",
        "ZELDA.Q@example.COM",
        " zelda.q@example.com ",
    ],
)
def test_her_email_or_shopify_id_in_any_spelling_is_her_cell(cell):
    assert ZELDA.is_cell(cell)
    assert ZELDA.owns({"anything": cell, "else": "x"})


@pytest.mark.parametrize(
    "cell",
    ["17338441277598", "73384412775980", "xzelda.q@example.com", "zelda.q@example.com.au", "Zelda"],
)
def test_a_longer_number_another_email_or_a_first_name_is_not_her_cell(cell):
    assert not ZELDA.is_cell(cell)


def test_mentions_in_free_text_are_masked_and_the_rest_kept():
    text = (
        "Referred Zelda  Quimby (zelda.q@example.com); Quimby, Zelda; id 7338441277598; "
        "bzelda.q@x.io"
    )
    assert ZELDA.mask(text) == (
        "Referred [redacted] ([redacted]); [redacted]; id [redacted]; bzelda.q@x.io"
    )
    assert ZELDA.mask({"a": [text]}) == {"a": [ZELDA.mask(text)]}
    assert not ZELDA.mentioned_in("Zelda bought a hat")  # a first name alone is not hers


def _rows(path: Path, encoding: str, delimiter: str) -> list[tuple[int, list[str]]]:
    source = CsvSource(path=path, encoding=encoding, delimiter=delimiter, header=[])
    return list(source.rows())


@pytest.mark.parametrize(
    ("encoding", "delimiter"),
    [("utf-8", ","), ("utf-8-sig", ";"), ("cp1252", ";"), ("utf-16", "\t"), ("utf-16-le", ",")],
)
def test_her_records_become_blank_and_every_other_row_keeps_its_number(
    tmp_path, encoding, delimiter
):
    rows = [
        ["shopify_id", "points_to_add", "description"],
        ["1001", "5", "Crème brûlée\r\nspans two lines"],
        [f"'{ZID}", "3", "Hers,\r\nmulti-line too"],
        ["1002", "4", "Gift from Zelda Quimby"],
        [],
        [f"gid://shopify/Customer/{ZID}", "2", "again"],
        ["1003", "1", "last"],
    ]
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter).writerows(rows)
    path = tmp_path / "upload.csv"
    path.write_bytes(buffer.getvalue().encode(encoding))
    before = _rows(path, encoding, delimiter)

    assert erase_from_upload(path, encoding, delimiter, ZELDA) == [3, 6]

    after = _rows(path, encoding, delimiter)
    assert [n for n, _ in after] == [2, 4, 7]
    assert after[0] == before[0] and after[2] == before[-1]
    assert after[1] == (4, ["1002", "4", "Gift from [redacted]"])
    assert [p.name for p in tmp_path.iterdir()] == ["upload.csv"]  # no temporary file left


def test_a_file_without_her_is_left_untouched(tmp_path):
    path = tmp_path / "upload.csv"
    path.write_bytes(b"shopify_id,points_to_add\r\n1001,5\r\n")
    inode = path.stat().st_ino
    assert erase_from_upload(path, "utf-8", ",", ZELDA) == []
    assert path.stat().st_ino == inode


def test_export_rows_of_erased_customers_are_taken_out(tmp_path):
    path = tmp_path / "export-1.csv"
    path.write_bytes(
        '\ufeffCustomer ID,Name\n1,"Ada\nLovelace"\n2,Zelda Quimby\n3,Grace\n'.encode()
    )
    assert drop_export_rows(path, [2]) == 1
    assert path.read_bytes() == '\ufeffCustomer ID,Name\n1,"Ada\nLovelace"\n3,Grace\n'.encode()
