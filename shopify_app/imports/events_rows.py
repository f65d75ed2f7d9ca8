"""An events file's rows: its columns, and each row parsed into an EventRow or a RowError.

Pure row work, no database, so the preview and the job's reader thread read a row the same
way. Checking rows against the shop's customers is `events_preview`; writing them is
`events_apply`. Every column the import does not name is a property of the event.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shopify_app.imports.points_rows import parse_shopify_id
from shopify_app.imports.reading import ColumnSpec, CsvSource, MissingColumns, map_columns
from shopify_app.imports.row_errors import RowError
from shopify_app.platform.errors import ImportFileError

COLUMNS = (
    ColumnSpec("shopify_id", ("shopify_customer_id", "customer_shopify_id", "customer_id")),
    ColumnSpec("email", ("e_mail", "email_address", "customer_email")),
    ColumnSpec("event_name", ("name", "event")),
    ColumnSpec("timestamp", ("time", "occurred_at", "date", "datetime")),
    ColumnSpec("event_id", ("id_event",), required=False),
)
MAX_NAME = 255
MAX_EVENT_ID = 255
#: before this, a timestamp is more likely a wrong column or a wrong year than an event.
EARLIEST = datetime(2000, 1, 1)
#: a clock a little ahead of ours is not the future.
FUTURE_SLACK = timedelta(minutes=5)
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]{0,14})(?:\.[0-9]+)?")
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
NUMBER, TEXT = "number", "text"
#: how the reason of a row flagged for a time in the future starts.
FUTURE = "timestamp is in the future"


class EventRow(NamedTuple):
    """One event as the file gives it, its time in UTC and its dedupe key."""

    row_number: int
    shopify_id: int | None
    email_key: str | None
    name: str
    occurred_at: datetime
    #: sha-256 hex of the event_id, or of the row's content without one.
    event_key: str
    external_id: str | None
    #: the properties as JSON text (sorted keys), or None without any.
    properties: str | None
    #: a digest of what the event says, to tell a repeated event_id from a repeated row.
    content: str


def event_columns(source: CsvSource) -> dict[str, int]:
    """Map an events file's columns: `shopify_id` or `email`, `event_name`, `timestamp`."""
    mapping = map_columns(source, COLUMNS, optional={"shopify_id", "email"})
    if "shopify_id" not in mapping and "email" not in mapping:
        raise MissingColumns(source, ["shopify_id or email"])
    return mapping


def check_timezone(name: str) -> str:
    """The IANA name if it is one (`Europe/Paris`); a clear ImportFileError if not."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ImportFileError(
            f"{name!r} is not a timezone name; use one such as Europe/Paris or America/New_York."
        ) from error
    return name


def parse_timestamp(text: str, zone: ZoneInfo) -> datetime | str:
    """An ISO-8601 time as naive UTC; one without an offset is read in `zone`. Else why not.

    Dates alone, `T` or a space, fractional seconds, `Z` and offsets are all ISO-8601.
    """
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return (
            f"timestamp {text!r} is not an ISO-8601 date and time "
            "(such as 2026-03-01T14:30:00Z, 2026-03-01 14:30 or 2026-03-01)"
        )
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC).replace(tzinfo=None)


def property_value(text: str) -> int | float | str:
    """A number when the whole cell is one (no leading zeros: `007` stays text), else text."""
    if _NUMBER.fullmatch(text):
        return float(text) if "." in text else int(text)
    return text


def event_key(event_id: str) -> str:
    return hashlib.sha256(event_id.encode()).hexdigest()


class EventRowParser:
    """Turns a CSV record into an EventRow or a RowError; one instance per file and timezone.

    Also notes which kinds of value (number, text) each property column held, so the preview
    can flag a column that is sometimes a number and sometimes text.
    """

    def __init__(
        self, source: CsvSource, mapping: dict[str, int], timezone: str, now: datetime
    ) -> None:
        self.source = source
        self.width = len(source.header)
        self.id_at = mapping.get("shopify_id")
        self.email_at = mapping.get("email")
        self.name_at = mapping["event_name"]
        self.time_at = mapping["timestamp"]
        self.event_id_at = mapping.get("event_id")
        self.zone = ZoneInfo(timezone)
        self.latest = (now + FUTURE_SLACK).astimezone(UTC).replace(tzinfo=None)
        named = set(mapping.values())
        self.properties = [
            (index, header)
            for index, header in enumerate(source.header)
            if index not in named and header.strip()
        ]
        self.kinds: dict[str, set[str]] = {header: set() for _, header in self.properties}

    def __call__(self, row_number: int, values: list[str]) -> EventRow | RowError:
        if len(values) > self.width and any(v.strip() for v in values[self.width :]):
            return self._error(
                row_number,
                values,
                None,
                None,
                "The row has more values than the header has columns",
            )
        shopify_id, email = self._customer(values)
        if isinstance(shopify_id, str):
            column = (
                "shopify_id"
                if self.id_at is not None and self._cell(values, self.id_at)
                else "email"
            )
            return self._error(
                row_number, values, column, self._cell(values, self._at(column)), shopify_id
            )
        name = self._cell(values, self.name_at)
        if not name:
            return self._error(row_number, values, "event_name", name, "event_name is empty")
        if len(name) > MAX_NAME:
            return self._error(
                row_number,
                values,
                "event_name",
                name,
                f"event_name is {len(name):,} characters; the limit is {MAX_NAME}",
            )
        raw_time = self._cell(values, self.time_at)
        if not raw_time:
            return self._error(row_number, values, "timestamp", raw_time, "timestamp is empty")
        occurred_at = parse_timestamp(raw_time, self.zone)
        if isinstance(occurred_at, str):
            return self._error(row_number, values, "timestamp", raw_time, occurred_at)
        if occurred_at < EARLIEST:
            return self._error(
                row_number,
                values,
                "timestamp",
                raw_time,
                f"timestamp is before 2000 ({occurred_at:%Y-%m-%d %H:%M} UTC): check that the "
                "column holds when the event happened",
            )
        if occurred_at > self.latest:
            return self._error(
                row_number,
                values,
                "timestamp",
                raw_time,
                f"{FUTURE} ({occurred_at:%Y-%m-%d %H:%M} UTC): check the year and the timezone",
            )
        external_id = self._cell(values, self.event_id_at) if self.event_id_at is not None else ""
        if len(external_id) > MAX_EVENT_ID:
            return self._error(
                row_number,
                values,
                "event_id",
                external_id,
                f"event_id is {len(external_id):,} characters; the limit is {MAX_EVENT_ID}",
            )
        properties = self._properties(values)
        who = f"shopify:{shopify_id}" if shopify_id is not None else f"email:{email}"
        content = hashlib.sha256(
            "\x1f".join((who, name, occurred_at.isoformat(), properties or "")).encode()
        ).hexdigest()
        key = event_key(external_id) if external_id else content
        return EventRow(
            row_number,
            shopify_id,
            email,
            name,
            occurred_at,
            key,
            external_id or None,
            properties,
            content,
        )

    def _customer(self, values: list[str]) -> tuple[int | str | None, str | None]:
        """(shopify id, None), (None, email key), or (reason, None): shopify_id first."""
        raw_id = self._cell(values, self.id_at) if self.id_at is not None else ""
        if raw_id:
            return parse_shopify_id(raw_id), None
        email = self._cell(values, self.email_at).lower() if self.email_at is not None else ""
        if not email:
            return "Neither shopify_id nor email is filled in", None
        if "@" not in email or any(c.isspace() for c in email):
            return f"email {email!r} is not an email address", None
        return None, email

    def _at(self, column: str) -> int | None:
        return self.id_at if column == "shopify_id" else self.email_at

    def _properties(self, values: list[str]) -> str | None:
        found: dict[str, int | float | str] = {}
        for index, header in self.properties:
            text = values[index].strip() if index < len(values) else ""
            if text:
                value = property_value(text)
                found[header] = value
                self.kinds[header].add(TEXT if value.__class__ is str else NUMBER)
        if not found:
            return None
        return json.dumps(found, ensure_ascii=False, sort_keys=True, separators=(",", ":"))

    @staticmethod
    def _cell(values: list[str], index: int | None) -> str:
        return values[index].strip() if index is not None and index < len(values) else ""

    def _error(
        self, row_number: int, values: list[str], column: str | None, value: str | None, reason: str
    ) -> RowError:
        return RowError(row_number, column, value, reason, self.source.raw_record(values))


def stage_text(rows: list[EventRow]) -> str:
    """The batch in COPY's text format (row, shopify id, email, name, time, key, id, props)."""
    lines = []
    for row in rows:
        shopify_id = "\\N" if row.shopify_id is None else str(row.shopify_id)
        email = "\\N" if row.email_key is None else row.email_key.translate(_COPY_ESCAPES)
        external = "\\N" if row.external_id is None else row.external_id.translate(_COPY_ESCAPES)
        properties = "\\N" if row.properties is None else row.properties.translate(_COPY_ESCAPES)
        lines.append(
            f"{row.row_number}\t{shopify_id}\t{email}\t{row.name.translate(_COPY_ESCAPES)}\t"
            f"{row.occurred_at.isoformat()}\t{row.event_key}\t{external}\t{properties}\t"
            f"{row.content}\n"
        )
    return "".join(lines)


def unknown_reason(row: EventRow) -> tuple[str, str, str]:
    """(column, value, reason) of a row whose customer is not in the store."""
    if row.shopify_id is not None:
        return (
            "shopify_id",
            str(row.shopify_id),
            f"No customer with Shopify id {row.shopify_id} in this store",
        )
    return "email", row.email_key or "", f"No customer with email {row.email_key} in this store"


def repeated_reason(external_id: str | None, first_row: int) -> str:
    return (
        f"event_id {external_id} is already used on row {first_row:,} of this file for a "
        "different event; the first one is imported"
    )
