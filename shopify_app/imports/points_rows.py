"""A points file's rows: its columns, and each row parsed into a PointsRow or a RowError.

Pure row work, no database: the preview, the job and the revert share these constants and
parsers, so a row is read the same way wherever it is read. Checking rows against the shop's
customers is `points_preview`; writing them to the ledger is `points_ledger`.
"""

from __future__ import annotations

import re

from shopify_app.imports.reading import ColumnSpec, CsvSource, MissingColumns, map_columns
from shopify_app.imports.row_errors import RowError
from shopify_app.platform.customer_store import GID_PREFIX

COLUMNS = (
    # In priority order: the app's own export has both "Customer ID" (the app's id) and
    # "Shopify customer ID"; Shopify's export has only "Customer ID" (Shopify's id).
    ColumnSpec("shopify_id", ("shopify_customer_id", "customer_shopify_id", "customer_id")),
    ColumnSpec("points_to_add", ("points_added", "add_points", "points_to_award")),
    # Never "note": in Shopify's customer export it is the merchant's private note, and a
    # description is shown to the customer in their points history.
    ColumnSpec("description", ("reason",), required=False),
)
#: names other apps (and this app's export) use for a balance: the merchant says what they hold.
AMBIGUOUS_POINTS = ColumnSpec("points", ("balance", "points_balance"), required=False)
#: how a points file's number is read: points to add, or the balance to set.
ADD, SET = "add", "set"
MAX_POINTS_PER_ROW = 1_000_000
MAX_DESCRIPTION = 255
MAX_BIGINT = 2**63 - 1
SOURCE, REVERT_SOURCE = "import", "import_revert"
_SCIENTIFIC = re.compile(r"^\d+([.,]\d+)?[eE]\+?\d+$")
_TRAILING_ZERO = re.compile(r"^\d+[.,]0+$")
EXCEL_CHANGED_ID = (
    "Excel changed this id ({text}); format the column as Text before saving the file, "
    "or export it again from Shopify"
)

#: (spreadsheet row, shopify customer id or app customer id, delta, description)
PointsRow = tuple[int, int, int, str]
#: (row, column, value, reason) for rows the database rejects
Rejection = tuple[int, str, str, str]


def points_columns(source: CsvSource) -> tuple[dict[str, int], bool]:
    """Map a points file's columns; returns (mapping, whether the points column is ambiguous).

    A `points_to_add` column wins over a `points`/`balance` one (the app's own export carries
    the balance as "Points", so export → add a column → import just works). A file with only
    the ambiguous name needs the merchant to say whether it holds points to add or balances.
    """
    mapping = map_columns(source, COLUMNS, optional={"points_to_add"})
    if "points_to_add" in mapping:
        return mapping, False
    balance = map_columns(source, (AMBIGUOUS_POINTS,))
    if "points" not in balance:
        raise MissingColumns(source, ["points_to_add"])
    return {**mapping, "points_to_add": balance["points"]}, True


class PointsRowParser:
    """Turns a CSV record into a PointsRow or a RowError; one instance per file.

    In ADD mode the row's number is a delta; in SET mode it is the balance to reach, and the
    row carries that balance (the delta is worked out against the balance at apply time).
    """

    def __init__(
        self,
        source: CsvSource,
        mapping: dict[str, int],
        default_description: str,
        *,
        mode: str = ADD,
    ):
        self.source = source
        self.width = len(source.header)
        self.id_at = mapping["shopify_id"]
        self.points_at = mapping["points_to_add"]
        self.description_at = mapping.get("description")
        self.default_description = default_description[:MAX_DESCRIPTION]
        self.mode = mode
        #: the column's name as the merchant's file spells it, for messages.
        self.label = "points_to_add" if mode == ADD else source.header[self.points_at]

    def __call__(self, row_number: int, values: list[str]) -> PointsRow | RowError:
        # The common row goes through a handful of C-level string checks; anything unusual
        # (spaces, signs, gids, errors, balances to set) takes the careful path.
        if len(values) == self.width and self.mode == ADD:
            raw_id, raw_points = values[self.id_at], values[self.points_at]
            if (
                raw_id.isdigit()
                and raw_points.isdigit()
                and raw_id.isascii()
                and raw_points.isascii()
                and raw_id[0] != "0"
                and len(raw_id) < 19
                and len(raw_points) < 7
            ):
                delta = int(raw_points)
                if 0 < delta <= MAX_POINTS_PER_ROW:
                    at = self.description_at
                    if at is None:
                        return (row_number, int(raw_id), delta, self.default_description)
                    description = values[at].strip()
                    if len(description) <= MAX_DESCRIPTION:
                        return (
                            row_number,
                            int(raw_id),
                            delta,
                            description or self.default_description,
                        )
        return self._careful(row_number, values)

    def _careful(self, row_number: int, values: list[str]) -> PointsRow | RowError:
        if len(values) > self.width and any(v.strip() for v in values[self.width :]):
            return self._error(
                row_number,
                values,
                None,
                None,
                "The row has more values than the header has columns",
            )
        raw_id = values[self.id_at].strip() if self.id_at < len(values) else ""
        raw_points = values[self.points_at].strip() if self.points_at < len(values) else ""
        customer_id = parse_shopify_id(raw_id)
        if isinstance(customer_id, str):
            return self._error(row_number, values, "shopify_id", raw_id, customer_id)
        number = self._number(raw_points)
        if isinstance(number, str):
            return self._error(row_number, values, self.label, raw_points, number)
        description = ""
        if self.description_at is not None and self.description_at < len(values):
            description = values[self.description_at].strip()
            if len(description) > MAX_DESCRIPTION:
                return self._error(
                    row_number,
                    values,
                    "description",
                    description,
                    f"description is {len(description):,} characters; the limit is "
                    f"{MAX_DESCRIPTION}",
                )
        if not description and self.mode == SET:
            description = f"Points balance set to {number:,}"
        return (row_number, customer_id, number, description or self.default_description)

    def _number(self, raw: str) -> int | str:
        """The row's points as an integer, or a reason that says how to fix the cell."""
        label = self.label
        if not raw:
            return f"{label} is empty"
        digits = raw[1:] if raw[:1] in ("+", "-") else raw
        if not (digits.isascii() and digits.isdigit()):
            return f"{label} is not a whole number"
        if len(digits) > 18 or int(digits) > MAX_POINTS_PER_ROW:
            limit = f"{MAX_POINTS_PER_ROW:,}"
            return f"{label} is too large: beyond the limit of ±{limit} points per row"
        number = -int(digits) if raw[:1] == "-" else int(digits)
        if self.mode == SET:
            if number < 0:
                return f"{label} is a balance and cannot be below zero"
            return number
        if number == 0:
            return f"{label} is 0: nothing to add"
        return number

    def _error(
        self,
        row_number: int,
        values: list[str],
        column: str | None,
        value: str | None,
        reason: str,
    ) -> RowError:
        return RowError(row_number, column, value, reason, self.source.raw_record(values))


def parse_shopify_id(text: str) -> int | str:
    """A Shopify customer id from `123`, `'123` or `gid://shopify/Customer/123`, else why not.

    Shopify's customer export writes ids as `'7338441277598` so spreadsheets keep them as
    text; the apostrophe is not part of the id.
    """
    text = text.removeprefix("'").strip()
    if not text:
        return "shopify_id is empty"
    if _SCIENTIFIC.match(text) or _TRAILING_ZERO.match(text):
        return EXCEL_CHANGED_ID.format(text=text)
    digits = text.removeprefix(GID_PREFIX)
    if not (digits.isascii() and digits.isdigit()):
        return (
            "shopify_id is not a Shopify customer id "
            "(expected a number such as 7012345678901 or gid://shopify/Customer/7012345678901)"
        )
    value = int(digits)
    if value <= 0 or value > MAX_BIGINT:
        return "shopify_id is out of range for a Shopify customer id"
    return value


def unknown_reason(shopify_id: int) -> str:
    return f"No customer with Shopify id {shopify_id} in this store"


def negative_reason(balance: int, delta: int) -> str:
    return f"The balance would go below zero ({balance:,} {delta:+,})"
