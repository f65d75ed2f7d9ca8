"""The shop's attribute definitions: which attributes its customers hold, and of what type.

Imports register a column here in the batch that first writes it, so the customer detail
formats the value and a segment rule compares it by type. Kept apart from the pure typing
(`attribute_types`) because these read and write the database.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from shopify_app.imports.attribute_types import ColumnTypes, merged_kind
from shopify_app.platform.db import upsert_insert
from shopify_app.platform.extensions import db
from shopify_app.platform.models import AttributeDefinition, ImportJob, Shop
from shopify_app.platform.models.base import utcnow


def defined_kinds(shop_id: int, names: Iterable[str]) -> dict[str, str]:
    """{attribute: type} the shop already holds for these names."""
    wanted = sorted(set(names))
    if not wanted:
        return {}
    return dict(
        db.session.execute(
            select(AttributeDefinition.name, AttributeDefinition.kind).where(
                AttributeDefinition.shop_id == shop_id, AttributeDefinition.name.in_(wanted)
            )
        ).all()
    )


def attribute_plan(shop_id: int, columns: list[ColumnTypes]) -> list[dict[str, Any]]:
    """What the preview shows per column: the file's type, the type it is stored as, and why."""
    defined = defined_kinds(shop_id, [c.name for c in columns])
    plan = []
    for column in columns:
        item = column.as_dict()
        item["defined"] = defined.get(column.name)
        item["stored_as"] = merged_kind(column.kind, defined.get(column.name))
        plan.append(item)
    return plan


def stored_kinds(shop_id: int, inferred: Mapping[str, str | None]) -> dict[str, str]:
    """The type each column is stored as: the file's, or text where the shop disagrees."""
    defined = defined_kinds(shop_id, inferred)
    return {name: merged_kind(kind, defined.get(name)) for name, kind in inferred.items()}


def attribute_kinds(job: ImportJob, names: Iterable[str]) -> tuple[dict[str, str], tzinfo]:
    """The type each of an import's attribute columns is stored as, and the shop's time zone
    (dates and times without an offset are the shop's)."""
    inferred = {
        item["name"]: item["kind"]
        for item in ((job.summary or {}).get("preview") or {}).get("attributes") or []
    }
    shop = db.session.get(Shop, job.shop_id)
    zone = ZoneInfo((shop.timezone if shop else None) or "UTC")
    return stored_kinds(job.shop_id, {name: inferred.get(name) for name in names}), zone


def register_attributes(shop_id: int, kinds: Mapping[str, str]) -> None:
    """Define each attribute once per shop; one already defined as another type becomes text.

    Safe to run with every batch: a defined attribute of the same type is left alone.
    """
    if not kinds:
        return
    now = utcnow()
    db.session.execute(
        upsert_insert(AttributeDefinition).on_conflict_do_nothing(
            index_elements=["shop_id", "name"]
        ),
        [
            {"shop_id": shop_id, "name": name, "kind": kind, "created_at": now, "updated_at": now}
            for name, kind in sorted(kinds.items())
        ],
    )
    for name, defined in defined_kinds(shop_id, kinds).items():
        kind = merged_kind(kinds[name], defined)
        if kind != defined:
            db.session.execute(
                update(AttributeDefinition)
                .where(AttributeDefinition.shop_id == shop_id, AttributeDefinition.name == name)
                .values(kind=kind, updated_at=now)
            )
