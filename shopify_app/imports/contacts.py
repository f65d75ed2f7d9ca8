"""Contacts imports: people matched by normalised email, created as Guests, added to a segment.

Upserting by (shop, email_key) and inserting segment memberships that already exist as no-ops
makes a batch safe to apply twice. Importing never invites or emails anyone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, select, update

from shopify_app.imports.reading import ColumnSpec, CsvSource
from shopify_app.imports.row_errors import RowError
from shopify_app.platform.customer_store import canonical_email, email_key
from shopify_app.platform.db import upsert_insert
from shopify_app.platform.extensions import db
from shopify_app.platform.models import Customer, SegmentMember
from shopify_app.platform.models.base import utcnow

COLUMNS = (
    ColumnSpec("first_name", ("firstname", "first", "given_name")),
    ColumnSpec("last_name", ("lastname", "last", "surname", "family_name")),
    ColumnSpec("email", ("e_mail", "email_address", "mail")),
    ColumnSpec("locale", ("language", "lang"), required=False),
)
MAX_NAME = 255
MAX_EMAIL = 254
_EMAIL = re.compile(
    r"^[^\s@\"(),:;<>\[\]\\]+@"
    r"(?:[^\W_](?:[\w-]{0,61}[^\W_])?\.)+[^\W\d_][^\W_]{1,62}$"
)
#: languages Shopify stores can be translated into (ISO 639-1, plus fil).
LANGUAGES = frozenset(
    "af ar az be bg bn bs ca cs cy da de el en eo es et eu fa fi fil fo fr ga gd gl gu he hi "
    "hr hu hy id is it ja ka kk km kn ko ky lb lo lt lv mk ml mn mr ms mt my nb ne nl nn no pa "
    "pl ps pt ro ru si sk sl so sq sr sv sw ta te th tk tr uk ur uz vi zh zu".split()
)
_LOCALE = re.compile(r"^([a-z]{2,3})(?:[-_]([a-z]{4}))?(?:[-_]([a-z]{2}|\d{3}))?$", re.IGNORECASE)


def normalize_locale(text: str) -> str | None:
    """`en_us` → `en-US`, `zh-hant` → `zh-Hant`; None when Shopify would not know it."""
    match = _LOCALE.match(text.strip())
    if not match or match.group(1).lower() not in LANGUAGES:
        return None
    language, script, region = match.groups()
    parts = [language.lower()]
    if script:
        parts.append(script.title())
    if region:
        parts.append(region.upper())
    return "-".join(parts)


def is_valid_email(text: str) -> bool:
    if len(text) > MAX_EMAIL or ".." in text:
        return False
    local = text.rpartition("@")[0]
    return bool(_EMAIL.match(text)) and not local.startswith(".") and not local.endswith(".")


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


@dataclass
class ContactsPreview:
    rows: int = 0
    valid_rows: int = 0
    counts: ContactsCounts = field(default_factory=ContactsCounts)
    #: distinct contacts of the file already in the segment (they stay; nothing to add).
    already_in_segment: int = 0
    seen: set[str] = field(default_factory=set)

    def figures(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "valid_rows": self.valid_rows,
            "error_rows": self.rows - self.valid_rows,
            "already_in_segment": self.already_in_segment,
            **self.counts.as_dict(),
        }


def preview_contacts(
    shop_id: int,
    rows: Iterable[tuple[int, list[str]]],
    parser: ContactRowParser,
    on_errors: Callable[[list[RowError]], None],
    *,
    segment_id: int | None = None,
    update_existing: bool = False,
    chunk_size: int = 20_000,
) -> ContactsPreview:
    """Validate every row and count what the job will do, without writing."""
    preview = ContactsPreview()
    chunk: list[tuple[int, list[str]]] = []
    for record in rows:
        chunk.append(record)
        if len(chunk) >= chunk_size:
            _preview_chunk(shop_id, segment_id, update_existing, chunk, parser, preview, on_errors)
            chunk = []
    if chunk:
        _preview_chunk(shop_id, segment_id, update_existing, chunk, parser, preview, on_errors)
    preview.seen.clear()
    return preview


def _preview_chunk(
    shop_id: int,
    segment_id: int | None,
    update_existing: bool,
    chunk: list[tuple[int, list[str]]],
    parser: ContactRowParser,
    preview: ContactsPreview,
    on_errors: Callable[[list[RowError]], None],
) -> None:
    errors: list[RowError] = []
    parsed: list[tuple[ContactRow, list[str]]] = []
    for row_number, values in chunk:
        result = parser(row_number, values)
        if isinstance(result, RowError):
            errors.append(result)
        else:
            parsed.append((result, values))
    existing = _existing(shop_id, {row.email_key for row, _ in parsed})
    members = _members(segment_id, {found[0] for found in existing.values() if not found[1]})
    counts = preview.counts
    for row, values in parsed:
        found = existing.get(row.email_key)
        first_time = row.email_key not in preview.seen
        decision = decide(found, first_time, update_existing)
        if decision == REJECTED:
            errors.append(parser._error(row.row_number, values, "email", row.email, DELETED))
            continue
        preview.valid_rows += 1
        counts.count(decision)
        if first_time and segment_id is not None:
            if found is not None and found[0] in members:
                preview.already_in_segment += 1
            else:
                counts.added_to_segment += 1
        preview.seen.add(row.email_key)
    preview.rows += len(chunk)
    if errors:
        errors.sort(key=lambda e: e.row_number)
        on_errors(errors)


def _members(segment_id: int | None, customer_ids: set[int]) -> set[int]:
    """Which of these customers are in the segment already."""
    if segment_id is None or not customer_ids:
        return set()
    ordered = sorted(customer_ids)
    found: set[int] = set()
    for start in range(0, len(ordered), 5_000):
        found.update(
            db.session.execute(
                select(SegmentMember.customer_id).where(
                    SegmentMember.segment_id == segment_id,
                    SegmentMember.customer_id.in_(ordered[start : start + 5_000]),
                )
            ).scalars()
        )
    return found


DELETED = "This email belongs to a customer deleted from the store; they cannot be re-imported"


def _existing(shop_id: int, keys: set[str]) -> dict[str, tuple[int, bool, dict[str, Any]]]:
    """email_key → (customer id, deleted or redacted, attributes)."""
    found: dict[str, tuple[int, bool, dict[str, Any]]] = {}
    ordered = list(keys)
    for start in range(0, len(ordered), 5_000):
        rows = db.session.execute(
            select(
                Customer.email_key,
                Customer.id,
                Customer.deleted_at,
                Customer.redacted_at,
                Customer.attributes,
            ).where(
                Customer.shop_id == shop_id, Customer.email_key.in_(ordered[start : start + 5_000])
            )
        )
        for key, customer_id, deleted_at, redacted_at, attributes in rows:
            dead = deleted_at is not None or redacted_at is not None
            found[key] = (customer_id, dead, attributes or {})
    return found


@dataclass
class ContactsResult(ContactsCounts):
    rejections: list[tuple[int, str, str, str]] = field(default_factory=list)


def _insert(model: Any):
    return upsert_insert(model)


def apply_contacts(
    shop_id: int, segment_id: int | None, rows: Sequence[ContactRow], *, update_existing: bool
) -> ContactsResult:
    """Create new contacts (as Guests), update existing ones if asked, add all to the segment.

    Rows are taken in file order, so a later duplicate of an email updates (or leaves) the
    contact an earlier row created, as applying them one by one would. Never commits.
    """
    result = ContactsResult()
    if not rows:
        return result
    now = utcnow()
    existing = _existing(shop_id, {row.email_key for row in rows})
    ids: dict[str, int] = {}
    new: dict[str, ContactRow] = {}
    updates: dict[int, dict[str, Any]] = {}
    for row in rows:
        found = existing.get(row.email_key)
        decision = decide(found, row.email_key not in new, update_existing)
        if decision == REJECTED:
            result.rejections.append((row.row_number, "email", row.email, DELETED))
            continue
        result.count(decision)
        if decision == CREATED:
            new[row.email_key] = row
            continue
        if decision == UNCHANGED:
            continue
        if found is None:
            _merge_into_new(new[row.email_key], row)
        else:
            updates[found[0]] = _changes(row, updates.get(found[0]), found[2], now)
            updates[found[0]]["b_id"] = found[0]
    for key, customer_id in _create(shop_id, list(new.values()), now).items():
        ids[key] = customer_id
    raced = [key for key in new if key not in ids]
    if raced:
        # Created by someone else between our lookup and insert (a webhook): now existing.
        result.created -= len(raced)
        result.unchanged += len(raced)
    ids.update({key: found[0] for key, found in existing.items() if not found[1]})
    ids.update({key: found[0] for key, found in _existing(shop_id, set(raced)).items()})
    if updates:
        stmt = (
            update(Customer.__table__)
            .where(Customer.__table__.c.id == bindparam("b_id"))
            .values(
                first_name=bindparam("first_name"),
                last_name=bindparam("last_name"),
                locale=bindparam("locale"),
                attributes=bindparam("attributes"),
                updated_at=bindparam("updated_at"),
            )
        )
        _fill_unchanged(updates)
        db.session.execute(stmt, list(updates.values()))
    if segment_id is not None and ids:
        members = [
            {"segment_id": segment_id, "customer_id": customer_id, "shop_id": shop_id}
            for customer_id in sorted(set(ids.values()))
        ]
        for start in range(0, len(members), 1_000):
            stmt = (
                _insert(SegmentMember)
                .on_conflict_do_nothing(index_elements=["segment_id", "customer_id"])
                .returning(SegmentMember.customer_id)
            )
            inserted = db.session.execute(stmt, members[start : start + 1_000]).all()
            result.added_to_segment += len(inserted)
    return result


def _merge_into_new(first: ContactRow, later: ContactRow) -> None:
    first.first_name = later.first_name or first.first_name
    first.last_name = later.last_name or first.last_name
    first.locale = later.locale or first.locale
    first.attributes = {**first.attributes, **later.attributes}


def _changes(
    row: ContactRow, earlier: dict[str, Any] | None, attributes: dict[str, Any], now
) -> dict[str, Any]:
    """Only what the file says: an empty cell never blanks a stored value."""
    earlier = earlier or {"attributes": attributes}
    return {
        "b_id": earlier.get("b_id"),
        "first_name": row.first_name or earlier.get("first_name"),
        "last_name": row.last_name or earlier.get("last_name"),
        "locale": row.locale or earlier.get("locale"),
        "attributes": {**(earlier["attributes"] or {}), **row.attributes} or None,
        "updated_at": now,
    }


def _fill_unchanged(updates: dict[int, dict[str, Any]]) -> None:
    """Put the stored values back where the file left a cell empty (one UPDATE shape for all)."""
    current = {
        customer_id: (first, last, locale)
        for customer_id, first, last, locale in db.session.execute(
            select(Customer.id, Customer.first_name, Customer.last_name, Customer.locale).where(
                Customer.id.in_(list(updates))
            )
        )
    }
    for customer_id, changes in updates.items():
        first, last, locale = current[customer_id]
        changes["first_name"] = changes["first_name"] or first
        changes["last_name"] = changes["last_name"] or last
        changes["locale"] = changes["locale"] or locale


def _create(shop_id: int, rows: list[ContactRow], now) -> dict[str, int]:
    """Insert new Guests; returns email_key → id for those this call created."""
    created: dict[str, int] = {}
    values = [
        {
            "shop_id": shop_id,
            "email": row.email,
            "email_key": row.email_key,
            "email_canonical": canonical_email(row.email),
            "first_name": row.first_name,
            "last_name": row.last_name,
            "locale": row.locale,
            "state": "DISABLED",
            "is_member": False,
            "attributes": row.attributes or None,
            "created_at": now,
            "updated_at": now,
        }
        for row in rows
    ]
    for start in range(0, len(values), 1_000):
        stmt = (
            _insert(Customer)
            .on_conflict_do_nothing(
                index_elements=["shop_id", "email_key"], index_where=Customer.email_key.isnot(None)
            )
            .returning(Customer.email_key, Customer.id)
        )
        for key, customer_id in db.session.execute(stmt, values[start : start + 1_000]):
            created[key] = customer_id
    return created
