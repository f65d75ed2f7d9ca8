"""An events file's rows: its columns, and each row parsed into an EventRow or a RowError.

Pure row work, no database, so the preview and the job's reader thread read a row the same
way. Checking rows against the shop's customers is `events_preview`; writing them is
`events_apply`. Every column the import does not name is a property of the event.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from hashlib import sha256
from json.encoder import encode_basestring
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
#: a whole cell that is a number (no leading zeros: `007` stays text, as written).
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


def content_digest(
    shopify_id: int | None,
    email: str | None,
    name: str,
    occurred_at: datetime,
    properties: str | None,
) -> str:
    """What the event says (customer, name, UTC time, properties) as sha-256 hex: the key of
    a row without an event_id, and what tells a repeated event_id from a repeated event."""
    who = f"shopify:{shopify_id}" if shopify_id is not None else f"email:{email}"
    text = f"{who}\x1f{name}\x1f{occurred_at.isoformat()}\x1f{properties or ''}"
    return sha256(text.encode()).hexdigest()


def content_of(row: EventRow) -> str:
    if row.external_id is None:
        return row.event_key
    return content_digest(row.shopify_id, row.email_key, row.name, row.occurred_at, row.properties)


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
        #: (position, header, its JSON key text) of every other column, sorted by header.
        self.properties = sorted(
            (
                (index, header, encode_basestring(header) + ":")
                for index, header in enumerate(source.header)
                if index not in named and header.strip()
            ),
            key=lambda item: item[1],
        )
        self.kinds: dict[str, set[str]] = {header: set() for _, header, _ in self.properties}

    def __call__(self, row_number: int, values: list[str]) -> EventRow | RowError:
        # The common row (a plain Shopify id, an ISO time in range) takes a few C-level
        # string checks; anything unusual takes the careful path, which says what is wrong.
        if len(values) == self.width and self.id_at is not None:
            raw_id = values[self.id_at]
            if raw_id.isdigit() and raw_id.isascii() and raw_id[0] != "0" and len(raw_id) < 19:
                name = values[self.name_at].strip()
                raw_time = values[self.time_at].strip()
                if name and len(name) <= MAX_NAME and raw_time:
                    try:
                        moment = datetime.fromisoformat(raw_time)
                    except ValueError:
                        return self._careful(row_number, values)
                    if moment.tzinfo is None:
                        moment = moment.replace(tzinfo=self.zone)
                    occurred_at = moment.astimezone(UTC).replace(tzinfo=None)
                    at = self.event_id_at
                    external_id = values[at].strip() if at is not None else ""
                    if EARLIEST <= occurred_at <= self.latest and len(external_id) <= MAX_EVENT_ID:
                        return self._row(
                            row_number, int(raw_id), None, name, occurred_at, external_id, values
                        )
        return self._careful(row_number, values)

    def _row(
        self,
        row_number: int,
        shopify_id: int | None,
        email: str | None,
        name: str,
        occurred_at: datetime,
        external_id: str,
        values: list[str],
    ) -> EventRow:
        properties = self._properties(values)
        if external_id:
            key = sha256(external_id.encode()).hexdigest()
            return EventRow(
                row_number, shopify_id, email, name, occurred_at, key, external_id, properties
            )
        key = content_digest(shopify_id, email, name, occurred_at, properties)
        return EventRow(row_number, shopify_id, email, name, occurred_at, key, None, properties)

    def _careful(self, row_number: int, values: list[str]) -> EventRow | RowError:
        """Every check, each failure with the reason a merchant can fix."""
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
        return self._row(row_number, shopify_id, email, name, occurred_at, external_id, values)

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
        """The other columns' values as JSON text, keys sorted, built without a JSON encoder
        per row (the key texts are encoded once per file)."""
        parts = []
        for index, header, key in self.properties:
            text = values[index].strip() if index < len(values) else ""
            if text:
                if (text[0].isdigit() or text[0] == "-") and _NUMBER.fullmatch(text):
                    parts.append(key + (repr(float(text)) if "." in text else str(int(text))))
                    self.kinds[header].add(NUMBER)
                else:
                    parts.append(key + encode_basestring(text))
                    self.kinds[header].add(TEXT)
        return "{" + ",".join(parts) + "}" if parts else None

    @staticmethod
    def _cell(values: list[str], index: int | None) -> str:
        return values[index].strip() if index is not None and index < len(values) else ""

    def _error(
        self, row_number: int, values: list[str], column: str | None, value: str | None, reason: str
    ) -> RowError:
        return RowError(row_number, column, value, reason, self.source.raw_record(values))


def stage_text(rows: list[EventRow]) -> str:
    """The batch in COPY's text format (row, shopify id, email, name, time, key, id, props).

    Names repeat (a file has few), so each is escaped once; other cells only when they hold
    a character COPY escapes.
    """
    names: dict[str, str] = {}
    lines = []
    for row in rows:
        name = names.get(row.name)
        if name is None:
            name = names[row.name] = row.name.translate(_COPY_ESCAPES)
        lines.append(
            f"{row.row_number}\t{_NULL if row.shopify_id is None else row.shopify_id}\t"
            f"{_copy_cell(row.email_key)}\t{name}\t{row.occurred_at.isoformat()}\t"
            f"{row.event_key}\t{_copy_cell(row.external_id)}\t{_copy_cell(row.properties)}\n"
        )
    return "".join(lines)


_NULL = "\\N"
_ESCAPED = re.compile(r"[\\\t\n\r]")


def _copy_cell(text: str | None) -> str:
    if text is None:
        return _NULL
    return text.translate(_COPY_ESCAPES) if _ESCAPED.search(text) else text


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
