"""What the people and events imports bring: typed attributes and timestamped events.

Attribute values live on the customer (`customers.attributes`, JSON); this table remembers
each attribute's type, so the customer detail formats it and a segment rule compares it as a
number, a date, a boolean or text.

`AttributeChange` is a people import's undo log: what each customer held before the import
changed them, so a revert restores it.

Events and attribute changes have no foreign keys, like the points ledger: an import writes a
million of them and a key check per row costs more than it protects. Rows are only written by
statements that join the shop's live customers; shop/redact and customer/redact delete them
explicitly.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shopify_app.platform.models.base import (
    Base,
    BigIntegerPK,
    ShopOwned,
    TimestampMixin,
    byte_ordered,
    utcnow,
)

#: an attribute's types, as the people import infers them.
NUMBER, DATE, BOOLEAN, TEXT = "number", "date", "boolean", "text"
ATTRIBUTE_KINDS = (NUMBER, DATE, BOOLEAN, TEXT)


class AttributeDefinition(ShopOwned, TimestampMixin, Base):
    """One imported attribute of the shop's customers, and its type."""

    __tablename__ = "attribute_definitions"
    __table_args__ = (UniqueConstraint("shop_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column()
    name: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(16), default=TEXT)


class CustomerEvent(ShopOwned, Base):
    """Something a customer did, at a time, with its properties (from an events import)."""

    __tablename__ = "customer_events"
    __table_args__ = (
        # The file's event_id, or a digest of the row's content without one: overlapping
        # nightly exports and re-imports add nothing.
        UniqueConstraint("shop_id", "event_key"),
        # Segment rules: "did EVENT at least N times in the last D days", counted for every
        # customer at once; the customer id rides along so no event row is read (an
        # index-only scan: the rows of one name and period lie all over the table).
        Index(
            "ix_customer_events_shop_id_name_occurred_at",
            "shop_id",
            "name",
            "occurred_at",
            postgresql_include=["customer_id"],
        ),
        # The customer's activity, in time order; with the name, a segment's member page
        # checks one customer's events without reading them.
        Index(
            "ix_customer_events_customer_id_occurred_at",
            "customer_id",
            "occurred_at",
            postgresql_include=["shop_id", "name"],
        ),
        # Revert of an import.
        Index("ix_customer_events_import_id", "import_id"),
    )

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    shop_id: Mapped[int] = mapped_column()
    customer_id: Mapped[int] = mapped_column()
    name: Mapped[str] = mapped_column(byte_ordered(255))
    #: UTC, naive like every timestamp the app stores.
    occurred_at: Mapped[datetime]
    #: sha-256 hex of the event_id (or of the row's content when there is none).
    event_key: Mapped[str] = mapped_column(byte_ordered(64))
    #: the file's event_id as written, for the merchant's eyes.
    external_id: Mapped[str | None] = mapped_column(String(255))
    properties: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    import_id: Mapped[int | None]
    row_number: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AttributeChange(ShopOwned, Base):
    """What a people import did to one customer: created them, or changed these attributes.

    One row per customer per import (the first row of the file that names them), written in
    the batch that applies it, so the job also knows whom an earlier batch already handled.
    """

    __tablename__ = "attribute_changes"
    __table_args__ = (UniqueConstraint("import_id", "customer_id"),)

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    shop_id: Mapped[int] = mapped_column()
    import_id: Mapped[int]
    #: erasure deletes a customer's rows.
    customer_id: Mapped[int] = mapped_column(index=True)
    row_number: Mapped[int]
    #: the import created this contact: a revert deletes it.
    created: Mapped[bool] = mapped_column(default=False)
    #: {attribute: [value before, value the import wrote]}; None stands for "not set".
    changes: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
