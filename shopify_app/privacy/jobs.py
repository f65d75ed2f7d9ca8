"""The retention sweep: uploads and export files past their retention are deleted.

Run by the worker's sweeper (`shopify_app.worker`) with the other sweeps; the walk for files no
row knows of lists every shop's folder, so it runs at most once per ORPHAN_WALK_EVERY. It is no
`platform.sweeps.Sweep`: nothing is queued again, files are deleted (and rows past retention
discarded) in place, by `privacy.files`, which already shares one query for the three kinds.
"""

from __future__ import annotations

import logging

from redis.exceptions import RedisError

from shopify_app.platform.extensions import db, redis_conn
from shopify_app.platform.models.base import utcnow
from shopify_app.platform.queue import job_app_context
from shopify_app.privacy import files as stored_files

log = logging.getLogger(__name__)
ORPHAN_WALK_KEY = "shopify_app:files:orphan-walk"
ORPHAN_WALK_EVERY_SECONDS = 3600


def _orphan_walk_due() -> bool:
    try:
        return bool(redis_conn().set(ORPHAN_WALK_KEY, "1", nx=True, ex=ORPHAN_WALK_EVERY_SECONDS))
    except RedisError as error:
        log.warning("file sweep cannot reach Redis, skipping the orphan walk: %s", error)
        return False


def purge_files() -> dict[str, int]:
    """Delete what retention says must go; returns how many of each went."""
    with job_app_context():
        now = utcnow()
        counts = {
            "previews": stored_files.discard_abandoned_previews(now),
            "uploads": stored_files.delete_finished_uploads(now),
            "exports": stored_files.expire_exports(now),
        }
        db.session.commit()
        counts["orphans"] = stored_files.delete_orphans(now) if _orphan_walk_due() else 0
        db.session.commit()
        if any(counts.values()):
            log.info("file retention: %s", counts)
        return counts
