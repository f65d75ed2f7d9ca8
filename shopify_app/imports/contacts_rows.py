"""A contacts file's rows: its columns, each row parsed into a ContactRow, and each row's fate.

Pure row work, no database. `decide` lives here because the preview (`contacts_preview`) and
the job (`contacts_upsert`) must count a row the same way: "3 new contacts, 2 left as they
are" is what the import then does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shopify_app.imports.reading import ColumnSpec, CsvSource
from shopify_app.imports.row_errors import RowError
from shopify_app.platform.contact_fields import is_valid_email, normalize_locale
from shopify_app.platform.customer_store import email_key

COLUMNS = (
    ColumnSpec("first_name", ("firstname", "first", "given_name")),
    ColumnSpec("last_name", ("lastname", "last", "surname", "family_name")),
    ColumnSpec("email", ("e_mail", "email_address", "mail")),
    ColumnSpec("locale", ("language", "lang"), required=False),
)
MAX_NAME = 255


@dataclass(slots=True)
class ContactRow:
    row_number: int
    email: str
    email_key: str
    first_name: str
    last_name: str
    locale: str | None
    attributes: dict[str, str]


class ContactRowParser:
    """Turns a CSV record into a ContactRow or a RowError; one instance per file."""

    def __init__(self, source: CsvSource, mapping: dict[str, int]):
        self.source = source
        self.width = len(source.header)
        self.mapping = mapping
        mapped = set(mapping.values())
        self.extra = [(i, name) for i, name in enumerate(source.header) if i not in mapped and name]

    def _get(self, values: list[str], column: str) -> str:
        index = self.mapping.get(column)
        return values[index].strip() if index is not None and index < len(values) else ""

    def __call__(self, row_number: int, values: list[str]) -> ContactRow | RowError:
        if len(values) > self.width and any(v.strip() for v in values[self.width :]):
            return self._error(
                row_number,
                values,
                None,
                None,
                "The row has more values than the header has columns",
            )
        email = self._get(values, "email")
        if not email:
            return self._error(row_number, values, "email", email, "email is empty")
        if not is_valid_email(email):
            return self._error(row_number, values, "email", email, "email is not a valid address")
        first, last = self._get(values, "first_name"), self._get(values, "last_name")
        for column, value in (("first_name", first), ("last_name", last)):
            if len(value) > MAX_NAME:
                return self._error(
                    row_number, values, column, value, f"{column} is over {MAX_NAME} characters"
                )
        raw_locale = self._get(values, "locale")
        locale = None
        if raw_locale:
            locale = normalize_locale(raw_locale)
            if locale is None:
                return self._error(
                    row_number,
                    values,
                    "locale",
                    raw_locale,
                    "locale is not a language Shopify knows (use a code such as en, fr or pt-BR)",
                )
        attributes = {
            name: values[i].strip()
            for i, name in self.extra
            if i < len(values) and values[i].strip()
        }
        return ContactRow(
            row_number, email, email_key(email) or "", first, last, locale, attributes
        )

    def _error(self, row_number, values, column, value, reason) -> RowError:
        return RowError(row_number, column, value, reason, self.source.raw_record(values))


@dataclass
class ContactsCounts:
    """What a contacts file does, row by row; the preview and the job count the same way.

    `created`, `updated` and `unchanged` add up to the rows applied; `added_to_segment`
    counts distinct contacts, so a repeated email is added once.
    """

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    added_to_segment: int = 0

    @property
    def applied(self) -> int:
        return self.created + self.updated + self.unchanged

    def count(self, decision: str) -> None:
        setattr(self, decision, getattr(self, decision) + 1)

    def as_dict(self) -> dict[str, int]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "added_to_segment": self.added_to_segment,
        }


CREATED, UPDATED, UNCHANGED, REJECTED = "created", "updated", "unchanged", "rejected"


def decide(found: tuple[int, bool, Any] | None, first_time: bool, update_existing: bool) -> str:
    """The fate of one valid row, given the stored contact with its email (if any).

    The first row of an unknown email creates the contact; every later row of it, and every
    row of a known email, updates it when the merchant asked and leaves it otherwise.
    """
    if found is not None and found[1]:
        return REJECTED
    if found is None and first_time:
        return CREATED
    return UPDATED if update_existing else UNCHANGED


DELETED = "This email belongs to a customer deleted from the store; they cannot be re-imported"
