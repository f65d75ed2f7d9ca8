"""Export jobs: large customer exports written by a worker, with progress the page polls."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shopify_app.platform.models.base import Base, ShopOwned, TimestampMixin

#: queued → running → done | failed
QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"


class ExportJob(ShopOwned, TimestampMixin, Base):
    __tablename__ = "export_jobs"
    #: The retention sweep: files still on disk, oldest first.
    __table_args__ = (
        Index("ix_export_jobs_file_deleted_at_finished_at", "file_deleted_at", "finished_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=QUEUED)
    #: the customers table's query parameters (filters, search, sort) when Export was pressed.
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    total_rows: Mapped[int] = mapped_column(default=0)
    processed_rows: Mapped[int] = mapped_column(default=0)
    file_path: Mapped[str | None] = mapped_column(String(1024))
    #: when the file expired (or was erased): the page offers a new export instead.
    file_deleted_at: Mapped[datetime | None]
    error_message: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    @property
    def percent(self) -> int:
        if self.status == DONE:
            return 100
        if not self.total_rows:
            return 0
        return min(99, int(100 * self.processed_rows / self.total_rows))
