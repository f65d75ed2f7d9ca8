"""An attribute column's type, inferred from its cells, and each cell stored as that type.

Pure, no database: the people and contacts imports share it, so a column reads the same
whichever import brings it. Stored values are plain JSON of one shape per type (numbers as
JSON numbers, dates as ISO text, booleans as true/false, text as written), so the detail page
formats them and a segment rule compares them without guessing again.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal
from typing import Any

from shopify_app.platform.models.people import BOOLEAN, DATE, NUMBER, TEXT

#: 15 significant digits is what a JSON number keeps exactly everywhere; longer is an id.
_NUMBER = re.compile(r"^[+-]?(?:(?:0|[1-9]\d{0,14})(?:\.\d{1,6})?|\.\d{1,6})$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:?\d{2})?$"
)
TRUE_WORDS = frozenset({"true", "yes"})
FALSE_WORDS = frozenset({"false", "no"})
MAX_TEXT = 1000
KIND_NAMES = {NUMBER: "numbers", DATE: "dates", BOOLEAN: "yes/no values", TEXT: "text"}


def kind_of(text: str) -> str:
    """The type one non-empty, stripped cell reads as.

    Only unambiguous spellings count: ISO dates (03/04/2026 is March or April depending on
    who wrote it), plain decimals without thousands separators, true/false and yes/no. A
    number with a leading zero (a ZIP code, a phone) is text.
    """
    lowered = text.lower()
    if lowered in TRUE_WORDS or lowered in FALSE_WORDS:
        return BOOLEAN
    if _NUMBER.match(text):
        return NUMBER
    if _DATE.match(text):
        try:
            date.fromisoformat(text)
        except ValueError:
            return TEXT
        return DATE
    if _DATETIME.match(text):
        try:
            datetime.fromisoformat(text)
        except ValueError:
            return TEXT
        return DATE
    return TEXT


@dataclass
class ColumnTypes:
    """What a column's cells read as, counted over the whole file, with an example of each."""

    name: str
    counts: Counter[str] = field(default_factory=Counter)
    #: kind → (row number, cell): the first cell of each type, for the preview.
    examples: dict[str, tuple[int, str]] = field(default_factory=dict)

    def add(self, row_number: int, text: str) -> None:
        kind = kind_of(text)
        self.counts[kind] += 1
        if kind not in self.examples:
            self.examples[kind] = (row_number, text)

    @property
    def mixed(self) -> bool:
        return len(self.counts) > 1

    @property
    def kind(self) -> str | None:
        """The column's type; text when mixed; None when every cell is empty."""
        if not self.counts:
            return None
        return next(iter(self.counts)) if not self.mixed else TEXT

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "mixed": self.mixed,
            "counts": dict(self.counts),
            "examples": {kind: list(example) for kind, example in self.examples.items()},
        }


class TypedColumns:
    """The types of a file's attribute columns, counted as its records go by."""

    def __init__(self, attributes: Iterable[tuple[int, str]]) -> None:
        pairs = list(attributes)
        self.columns = [ColumnTypes(name) for _, name in pairs]
        self.positions = [i for i, _ in pairs]

    def add(self, records: Iterable[tuple[int, list[str]]]) -> None:
        pairs = list(zip(self.columns, self.positions, strict=True))
        for row_number, values in records:
            width = len(values)
            for column, i in pairs:
                if i < width and (cell := values[i].strip()):
                    column.add(row_number, cell)


def merged_kind(inferred: str | None, defined: str | None) -> str:
    """The type to store: the file's, unless the shop already holds the attribute as another
    type, when both become text (a segment cannot compare a number with a date)."""
    if inferred is None:
        return defined or TEXT
    if defined is None or defined == inferred:
        return inferred
    return TEXT


def stored_value(kind: str, text: str, zone: tzinfo = UTC) -> Any:
    """The cell as its type stores it: 12, 12.5, "2026-03-01", "2026-03-01T09:30:00Z", True.

    A date and time without an offset is read in `zone` (the shop's) and stored in UTC.
    Raises ValueError for a cell that is not of the type (a caller that inferred the type
    from the same file never sees it).
    """
    if kind == NUMBER:
        if not _NUMBER.match(text):
            raise ValueError(f"{text!r} is not a number")
        number = Decimal(text)
        return int(number) if number == number.to_integral_value() else float(number)
    if kind == BOOLEAN:
        lowered = text.lower()
        if lowered not in TRUE_WORDS and lowered not in FALSE_WORDS:
            raise ValueError(f"{text!r} is not yes or no")
        return lowered in TRUE_WORDS
    if kind == DATE:
        if _DATE.match(text):
            return date.fromisoformat(text).isoformat()
        if not _DATETIME.match(text):
            raise ValueError(f"{text!r} is not an ISO date")
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=zone)
        return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return text


def typed_attributes(
    attributes: dict[str, Any], kinds: dict[str, str], zone: tzinfo = UTC
) -> dict[str, Any]:
    """A row's attribute cells as their columns' types store them (text where untyped)."""
    return {
        name: stored_value(kinds.get(name, TEXT), value, zone) if isinstance(value, str) else value
        for name, value in attributes.items()
    }


def same_value(stored: Any, new: Any) -> bool:
    """Equal and of one type: True is not 1, "12" is not 12."""
    return type(stored) is type(new) and stored == new
