"""CSV import jobs and their rejected rows; progress lives here so the page can poll it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shopify_app.platform.models.base import Base, BigIntegerPK, ShopOwned, TimestampMixin

POINTS, CONTACTS = "points", "contacts"
PEOPLE, EVENTS = "people", "events"
#: uploaded → previewed → queued → running → done | failed | cancelled; reverting → reverted
UPLOADED, PREVIEWED, QUEUED, RUNNING = "uploaded", "previewed", "queued", "running"
DONE, FAILED, CANCELLED = "done", "failed", "cancelled"
REVERTING, REVERTED = "reverting", "reverted"


class ImportJob(ShopOwned, TimestampMixin, Base):
    __tablename__ = "import_jobs"
    __table_args__ = (
        Index("ix_import_jobs_shop_id_file_sha256", "shop_id", "file_sha256"),
        Index("ix_import_jobs_status_heartbeat_at", "status", "heartbeat_at"),
        # The retention sweep: uploads still on disk, oldest change first.
        Index("ix_import_jobs_file_deleted_at_updated_at", "file_deleted_at", "updated_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    #: uploaded → previewed → queued → running → done | failed | cancelled | reverted
    status: Mapped[str] = mapped_column(String(16), default="uploaded")
    filename: Mapped[str] = mapped_column(String(255))
    file_path: Mapped[str] = mapped_column(String(1024))
    file_sha256: Mapped[str] = mapped_column(String(64))
    file_size: Mapped[int] = mapped_column(default=0)
    #: when the upload was deleted (retention, erasure): nothing may read `file_path` after.
    file_deleted_at: Mapped[datetime | None]
    encoding: Mapped[str | None] = mapped_column(String(32))
    delimiter: Mapped[str | None] = mapped_column(String(4))
    segment_id: Mapped[int | None] = mapped_column(ForeignKey("segments.id", ondelete="SET NULL"))
    update_existing: Mapped[bool] = mapped_column(default=False)
    apply_with_errors: Mapped[bool] = mapped_column(default=True)
    total_rows: Mapped[int] = mapped_column(default=0)
    processed_rows: Mapped[int] = mapped_column(default=0)
    applied_rows: Mapped[int] = mapped_column(default=0)
    error_rows: Mapped[int] = mapped_column(default=0)
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error_message: Mapped[str | None] = mapped_column(Text)
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    #: the spreadsheet row of the last committed batch: where a resumed job starts again.
    last_row_number: Mapped[int] = mapped_column(default=0, server_default="0")
    #: a points import's rows up to here are in the balances; the later ones wait for its end
    #: (`imports.points_settle`), so each customer's balance moves once per import.
    settled_row_number: Mapped[int] = mapped_column(default=0, server_default="0")
    #: runs started (first run, retries, resumes after a dead worker).
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    #: bumped at every batch commit; a running import silent past the lease is presumed dead.
    heartbeat_at: Mapped[datetime | None]
    rows_per_second: Mapped[float | None]


class ImportBalanceMove(Base):
    """Points of a running import already moved into one customer's balance, before its end.

    A customer with a removal in a batch has its balance moved and checked at once (so no
    redemption spends what the import takes back); the settle at the end moves the rest.
    """

    __tablename__ = "import_balance_moves"

    import_id: Mapped[int] = mapped_column(
        ForeignKey("import_jobs.id", ondelete="CASCADE"), primary_key=True
    )
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True
    )
    moved: Mapped[int] = mapped_column(BigInteger)


class ImportRowError(Base):
    __tablename__ = "import_row_errors"
    __table_args__ = (
        Index("uq_import_row_errors_import_id_row_number", "import_id", "row_number", unique=True),
    )

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("import_jobs.id", ondelete="CASCADE"))
    row_number: Mapped[int]
    column: Mapped[str | None] = mapped_column(String(255))
    value: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(String(500))
    raw: Mapped[dict[str, Any] | None] = mapped_column(JSON)
