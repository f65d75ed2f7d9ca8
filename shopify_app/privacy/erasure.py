"""One person as an erasure looks for them, and their records erased from the files we keep.

A record (a CSV row, an import's stored sample or rejected row, a webhook payload) is the
person's when one of its cells is their email (trimmed, any case) or their Shopify id (plain,
`gid://shopify/Customer/N`, Excel's `'N` or `N.0`): such a record is erased whole. Free text
that merely mentions them (a ledger description, an error message, another customer's row)
has their email, full name and id replaced, so the rest of it stays useful to the merchant.
Files are rewritten to a temporary file and renamed over the original, so a reader sees the
old file or the new one, never half of each.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from shopify_app.imports.reading import open_text
from shopify_app.platform.customer_store import email_key

#: what replaces a mention of the person in free text.
MASK = "[redacted]"
_ID_CELL = re.compile(r"'?(?:gid://shopify/customer/)?(\d{1,19})(?:\.0+)?", re.IGNORECASE)
#: shorter numbers are too common in text to be taken for a Shopify id.
MIN_ID_DIGITS_IN_TEXT = 6
#: decoded characters read at a time when checking whether a file can mention the person.
SCAN_CHARS = 1024 * 1024


class UnreadableFile(Exception):
    """A stored file no longer parses as the CSV it was, so it cannot be rewritten safely."""


@dataclass(frozen=True)
class Person:
    """The identifiers and names by which the person's data is recognised.

    Args:
        emails: email keys (trimmed, lower-cased).
        shopify_ids: Shopify customer ids as digit strings.
        names: (first, last) pairs; a full name is looked for only when it has both parts.
    """

    emails: frozenset[str] = frozenset()
    shopify_ids: frozenset[str] = frozenset()
    names: frozenset[tuple[str, str]] = frozenset()

    @classmethod
    def of(
        cls,
        *,
        emails: Iterable[str | None] = (),
        shopify_ids: Iterable[int | str | None] = (),
        names: Iterable[tuple[str | None, str | None]] = (),
    ) -> Person:
        """Build from whatever is known (the webhook payload, the stored customer)."""
        ids = set()
        for value in shopify_ids:
            match = _ID_CELL.fullmatch(str(value).strip()) if value else None
            if match:
                ids.add(str(int(match.group(1))))
        full_names = {
            (first.strip(), last.strip())
            for first, last in names
            if first and last and first.strip() and last.strip()
        }
        return cls(
            emails=frozenset(k for k in (email_key(e) for e in emails) if k),
            shopify_ids=frozenset(ids),
            names=frozenset(full_names),
        )

    def __bool__(self) -> bool:
        return bool(self.emails or self.shopify_ids or self.names)

    @cached_property
    def _pattern(self) -> re.Pattern[str] | None:
        """One expression for every mention: emails and ids not inside a longer one, names
        as whole words ("Zelda Quimby" or "Quimby, Zelda")."""
        parts = [rf"(?<![\w.+-]){re.escape(e)}(?![\w-]|\.\w)" for e in sorted(self.emails)]
        parts += [
            rf"(?<!\d){i}(?!\d)"
            for i in sorted(self.shopify_ids)
            if len(i) >= MIN_ID_DIGITS_IN_TEXT
        ]
        for first, last in sorted(self.names):
            f, la = re.escape(first), re.escape(last)
            parts += [rf"\b{f}\s+{la}\b", rf"\b{la},\s*{f}\b"]
        return re.compile("|".join(parts), re.IGNORECASE) if parts else None

    # --- records: erased whole -----------------------------------------------------------------

    def is_cell(self, cell: object) -> bool:
        """The cell holds exactly the person's email or Shopify id."""
        if isinstance(cell, bool) or cell is None:
            return False
        if isinstance(cell, int):
            return str(cell) in self.shopify_ids
        text = str(cell).strip()
        if "@" in text:
            return (email_key(text.lstrip("'")) or "") in self.emails
        match = _ID_CELL.fullmatch(text)
        return bool(match) and str(int(match.group(1))) in self.shopify_ids

    def owns(self, record: object) -> bool:
        """The record (cells, a dict of cells, or nested JSON) has a cell that is the person's."""
        return any(self.is_cell(cell) for cell in _leaves(record))

    # --- free text: mentions masked --------------------------------------------------------------

    def mentioned_in(self, value: object) -> bool:
        """Some text in the value (a string or nested JSON) mentions the person."""
        if self._pattern is None:
            return False
        return any(isinstance(v, str) and self._pattern.search(v) for v in _leaves(value))

    def mask(self, value: Any) -> Any:
        """The value with every mention of the person replaced by MASK (JSON walked)."""
        if self._pattern is None:
            return value
        if isinstance(value, str):
            return self._pattern.sub(MASK, value)
        if isinstance(value, dict):
            return {k: self.mask(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.mask(v) for v in value]
        return value

    def searched_for(self, query: str | None) -> bool:
        """A search the merchant typed (kept with an export or a selection) aims at the person."""
        text = (query or "").strip().lower()
        if len(text) < 3:
            return False
        words = {e for e in self.emails}
        for first, last in self.names:
            words |= {first.lower(), last.lower(), f"{first} {last}".lower()}
        return any(text in word for word in words) or self.mentioned_in(text)

    def needles(self) -> list[str]:
        """Lower-case substrings that any record or text of the person's contains: a cheap
        first filter (SQL `ILIKE`, a scan of a file) before the exact checks above."""
        found = set(self.emails) | set(self.shopify_ids)
        for first, last in self.names:
            found |= {f"{first} {last}".lower(), f"{last}, {first}".lower()}
        # JSON columns may hold text with non-ASCII characters escaped.
        found |= {json.dumps(n)[1:-1].lower() for n in list(found)}
        return sorted(found)


def _leaves(value: object) -> Iterator[object]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _leaves(item)
    else:
        yield value


# --- files ---------------------------------------------------------------------------------


def may_mention(path: Path, encoding: str, person: Person) -> bool:
    """Whether the file's text contains any of the person's needles (chunked, any case).

    A file that cannot is left untouched, so a running import reading it is not disturbed.
    """
    needles = person.needles()
    if not needles:
        return False
    overlap = max(len(n) for n in needles)
    tail = ""
    try:
        with open_text(path, encoding) as text:
            while chunk := text.read(SCAN_CHARS):
                window = (tail + chunk).lower()
                if any(n in window for n in needles):
                    return True
                tail = window[-overlap:]
    except UnicodeError as error:
        raise UnreadableFile(f"{path.name}: {error}") from error
    return False


def _records(text: io.TextIOBase, delimiter: str) -> Iterator[tuple[list[str], str]]:
    """(values, the exact text they were read from) for each record: csv.reader pulls one
    physical line at a time and reads no further than the record it returns."""
    consumed: list[str] = []

    def lines() -> Iterator[str]:
        for line in text:
            consumed.append(line)
            yield line

    for values in csv.reader(lines(), delimiter=delimiter):
        raw = "".join(consumed)
        consumed.clear()
        yield values, raw
    if consumed:
        yield [], "".join(consumed)


def _line_end(raw: str) -> str:
    for end in ("\r\n", "\n", "\r"):
        if raw.endswith(end):
            return end
    return ""


def _rewrite(
    path: Path,
    encoding: str,
    delimiter: str,
    edit: Callable[[int, list[str], str], str | None],
) -> list[int]:
    """Rewrite the file record by record; `edit(row, values, raw)` returns the new text of a
    record, or None to keep it byte for byte. Returns the row numbers edited (header = 1).

    Nothing is replaced when no record changed. The new file is complete and synced before
    it is renamed over the old one.
    """
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    edited: list[int] = []
    try:
        with (
            open_text(path, encoding) as text,
            open(temporary, "w", encoding=encoding, newline="") as out,
        ):
            for row_number, (values, raw) in enumerate(_records(text, delimiter), start=1):
                replacement = edit(row_number, values, raw) if row_number > 1 else None
                if replacement is None:
                    out.write(raw)
                else:
                    out.write(replacement)
                    edited.append(row_number)
            out.flush()
            os.fsync(out.fileno())
        if edited:
            os.replace(temporary, path)
    except (csv.Error, UnicodeError) as error:
        raise UnreadableFile(f"{path.name}: {error}") from error
    finally:
        temporary.unlink(missing_ok=True)
    return edited


def _masked_record(person: Person, values: list[str], raw: str, delimiter: str) -> str | None:
    """The record with mentions of the person masked, or None when it has none."""
    if not any(person.mentioned_in(v) for v in values):
        return None
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=_line_end(raw) or "\n")
    writer.writerow([person.mask(v) for v in values])
    return buffer.getvalue() if _line_end(raw) else buffer.getvalue().rstrip("\r\n")


def erase_from_upload(path: Path, encoding: str, delimiter: str, person: Person) -> list[int]:
    """Blank the person's records in an upload and mask mentions of them in the others.

    A blank record is an empty line: it still counts as a record, so every other row keeps
    its number (an import's resume position and its rejected rows count records), and the
    import skips it like any blank row. Returns the row numbers blanked.
    """
    if not may_mention(path, encoding, person):
        return []
    blanked: list[int] = []

    def edit(row_number: int, values: list[str], raw: str) -> str | None:
        if person.owns(values):
            blanked.append(row_number)
            return _line_end(raw)
        return _masked_record(person, values, raw, delimiter)

    _rewrite(path, encoding, delimiter, edit)
    return blanked


def drop_export_rows(path: Path, customer_ids: Iterable[int]) -> int:
    """Take the customers' rows out of an export file (its first column is our customer id);
    returns how many rows went."""
    ids = {str(i) for i in customer_ids}
    if not ids or not path.is_file():
        return 0
    dropped = _rewrite(
        path,
        "utf-8-sig",
        ",",
        lambda _, values, raw: "" if values[:1] and values[0] in ids else None,
    )
    return len(dropped)
