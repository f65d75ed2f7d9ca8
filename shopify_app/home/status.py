"""The shop's status for the home page: install, sync progress, member and guest counts."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import func, select

from shopify_app.platform.extensions import db
from shopify_app.platform.models import Customer, Shop


@dataclass(frozen=True)
class ShopStatus:
    shop_name: str
    domain: str
    installed_at: datetime | None
    token_expires_at: datetime | None
    members: int
    guests: int
    joined: int
    sync_status: str
    sync_done: int
    sync_total: int | None
    sync_error: str | None
    synced_at: datetime | None

    @property
    def customers(self) -> int:
        return self.members + self.guests

    @property
    def sync_percent(self) -> int:
        if self.sync_status == "done":
            return 100
        if not self.sync_total:
            return 0
        return min(100, int(100 * self.sync_done / self.sync_total))

    def as_json(self) -> dict:
        data = asdict(self)
        for key, value in data.items():
            if isinstance(value, datetime):
                data[key] = value.isoformat()
        running = self.sync_status in {"queued", "running"}
        data.update(
            percent=self.sync_percent,
            done=self.sync_done,
            total=self.sync_total,
            status=self.sync_status,
            finished=not running,
            unit="customers",  # the progress line says "120 of 3,000 customers", not rows
            message=f"{self.sync_done:,} customers synced",
        )
        return data


def shop_status(shop: Shop) -> ShopStatus:
    rows = db.session.execute(
        select(Customer.is_member, func.count(), func.count(Customer.joined_at))
        # Live customers, as the table counts them; the partial index then answers alone.
        .where(
            Customer.shop_id == shop.id,
            Customer.deleted_at.is_(None),
            Customer.redacted_at.is_(None),
        )
        .group_by(Customer.is_member)
    ).all()
    counts = {bool(is_member): (n, joined) for is_member, n, joined in rows}
    return ShopStatus(
        shop_name=shop.name,
        domain=shop.domain,
        installed_at=shop.installed_at,
        token_expires_at=shop.access_token_expires_at,
        members=counts.get(True, (0, 0))[0],
        guests=counts.get(False, (0, 0))[0],
        joined=sum(j for _, j in counts.values()),
        sync_status=shop.sync_status,
        sync_done=shop.sync_done,
        sync_total=shop.sync_total,
        sync_error=shop.sync_error,
        synced_at=shop.synced_at,
    )
