"""A people file's rows: the identifier, every other column an attribute, and each row's fate.

Pure row work, no database. `decide` and `changes_of` live here because the preview
(`people_preview`) and the job (`people_apply`) must count a row the same way: "3 new, 2
updated, 5 unchanged" is what the import then does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any

from shopify_app.imports.attribute_types import MAX_TEXT, same_value, stored_value
from shopify_app.imports.contacts_rows import is_valid_email
from shopify_app.imports.points_rows import parse_shopify_id
from shopify_app.imports.reading import ColumnSpec, CsvSource, MissingColumns, map_columns
from shopify_app.imports.row_errors import RowError
from shopify_app.platform.customer_store import email_key
from shopify_app.platform.errors import ImportFileError

IDENTIFIERS = (
    ColumnSpec(
        "shopify_id",
        ("shopify_customer_id", "customer_shopify_id", "customer_id"),
        required=False,
    ),
    ColumnSpec("email", ("e_mail", "email_address", "mail"), required=False),
)
#: what the import does with existing customers and unknown emails.
UPDATE, CREATE, BOTH = "update", "create", "both"
MODES = (UPDATE, CREATE, BOTH)
#: what an empty cell does: keep the stored value, or clear it.
KEEP, CLEAR = "keep", "clear"
EMPTIES = (KEEP, CLEAR)
MAX_NAME = 255
CREATED, UPDATED, UNCHANGED, REJECTED = "created", "updated", "unchanged", "rejected"


def checked_settings(settings: Mapping[str, str | None]) -> dict[str, str]:
    """The merchant's mode (default: update existing customers) and empty-cell rule (keep)."""
    mode = settings.get("mode") or UPDATE
    empty = settings.get("empty") or KEEP
    if mode not in MODES:
        raise ImportFileError(
            "Choose whether to update existing customers, create new contacts, or both."
        )
    if empty not in EMPTIES:
        raise ImportFileError("Choose whether an empty cell keeps or clears the stored value.")
    return {"mode": mode, "empty": empty}


def people_columns(source: CsvSource) -> tuple[dict[str, int], list[tuple[int, str]]]:
    """(identifier columns found, [(position, attribute name)]); refuses a file with neither."""
    mapping = map_columns(source, IDENTIFIERS)
    if not mapping:
        raise MissingColumns(source, ["shopify_id or email"])
    used = set(mapping.values())
    attributes = [
        (i, name[:MAX_NAME]) for i, name in enumerate(source.header) if i not in used and name
    ]
    return mapping, attributes


@dataclass(slots=True)
class PeopleRow:
    row_number: int
    shopify_id: int | None
    email: str | None
    email_key: str | None
    #: the attribute cells, stripped, in the order of the file's attribute columns.
    cells: list[str]


@dataclass(frozen=True, slots=True)
class Found:
    """A stored customer as the people import sees it."""

    id: int
    dead: bool
    attributes: dict[str, Any]
    label: str


class PeopleRowParser:
    """Turns a CSV record into a PeopleRow or a RowError; one instance per file."""

    def __init__(self, source: CsvSource) -> None:
        self.source = source
        self.width = len(source.header)
        self.mapping, self.attributes = people_columns(source)
        self.names = [name for _, name in self.attributes]

    def _get(self, values: list[str], column: str) -> str:
        index = self.mapping.get(column)
        return values[index].strip() if index is not None and index < len(values) else ""

    def __call__(self, row_number: int, values: list[str]) -> PeopleRow | RowError:
        if len(values) > self.width and any(v.strip() for v in values[self.width :]):
            reason = "The row has more values than the header has columns"
            return self.error(row_number, values, None, None, reason)
        raw_id, email = self._get(values, "shopify_id"), self._get(values, "email")
        shopify_id = None
        if raw_id:
            parsed = parse_shopify_id(raw_id)
            if isinstance(parsed, str):
                return self.error(row_number, values, "shopify_id", raw_id, parsed)
            shopify_id = parsed
        elif not email:
            return self.error(
                row_number, values, None, None, "The row has neither a shopify_id nor an email"
            )
        if email and not is_valid_email(email):
            return self.error(row_number, values, "email", email, "email is not a valid address")
        cells = [values[i].strip() if i < len(values) else "" for i, _ in self.attributes]
        for (_, name), cell in zip(self.attributes, cells, strict=True):
            if len(cell) > MAX_TEXT:
                return self.error(
                    row_number, values, name, cell[:100], f"{name} is over {MAX_TEXT:,} characters"
                )
        return PeopleRow(row_number, shopify_id, email or None, email_key(email), cells)

    def error(self, row_number, values, column, value, reason) -> RowError:
        return RowError(row_number, column, value, reason, self.source.raw_record(values))


def row_values(
    names: list[str], kinds: dict[str, str], row: PeopleRow, zone: tzinfo
) -> dict[str, Any]:
    """{attribute: stored value} for the row's non-empty cells."""
    return {
        name: stored_value(kinds[name], cell, zone)
        for name, cell in zip(names, row.cells, strict=True)
        if cell
    }


def changes_of(
    names: list[str], values: dict[str, Any], stored: dict[str, Any], *, clear: bool
) -> dict[str, list[Any]]:
    """{attribute: [before, after]} for what the row changes; None is "not set".

    An empty cell keeps the stored value, or clears it when the merchant chose "clear".
    """
    changes: dict[str, list[Any]] = {}
    for name in names:
        before = stored.get(name)
        if name in values:
            after = values[name]
        elif clear and before is not None:
            after = None
        else:
            continue
        if not same_value(before, after):
            changes[name] = [before, after]
    return changes


def identify(
    row: PeopleRow, by_id: dict[int, Found], by_email: dict[str, Found]
) -> Found | str | None:
    """The stored customer the row names, None for nobody, or why the row names no one.

    A row with a shopify_id is matched on it; its email must then not belong to another
    customer. A row with only an email is matched on the email.
    """
    if row.shopify_id is not None:
        found = by_id.get(row.shopify_id)
        if found is None:
            return (
                f"No customer with Shopify id {row.shopify_id} in this store "
                "(a row creates a contact only from an email, without a shopify_id)"
            )
        other = by_email.get(row.email_key) if row.email_key else None
        if other is not None and other.id != found.id:
            return (
                f"This row matches two customers: Shopify id {row.shopify_id} is "
                f"{found.label} and {row.email} is {other.label}. Keep the one you mean."
            )
        return found
    return by_email.get(row.email_key or "")


def decide(found: Found | str | None, mode: str, changes: dict[str, Any]) -> tuple[str, str]:
    """(decision, reason when rejected) for one valid row, once it is identified."""
    if isinstance(found, str):
        return REJECTED, found
    if found is None:
        if mode == UPDATE:
            return REJECTED, (
                "No customer with this email in this store; choose to create new contacts "
                "to add them"
            )
        return CREATED, ""
    if found.dead:
        return REJECTED, "This customer was deleted from the store; they cannot be updated"
    if mode == CREATE or not changes:
        return UNCHANGED, ""
    return UPDATED, ""


def repeat_reason(first_row: int) -> str:
    return (
        f"This customer is already in row {first_row:,} of this file; a people file has one "
        "row per customer (merge the rows and upload them again)"
    )


def label(customer_id: int, first: str, last: str, email: str | None) -> str:
    """How a message names a customer: "Ann Lee (ann@example.com, #12)"."""
    name = f"{first} {last}".strip()
    who = ", ".join(part for part in (email, f"#{customer_id}") if part)
    return f"{name} ({who})" if name else who
