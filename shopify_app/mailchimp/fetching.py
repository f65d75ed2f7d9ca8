"""Reading audiences into a contacts import: subscribed members, page by page, resumable.

The fetch writes a staged contacts CSV (under IMPORT_DIR, like an upload) and then creates a
contacts import of it in preview state, so counts, row errors, progress, exactly-once and
revert are the contacts CSV's own. Pages are read a few at a time (at most
MAILCHIMP_CONNECTIONS of Mailchimp's 10 connections) and appended in order; after each round
the audience, offset, the staged file's length and the counts are committed together, so a
run that stops (network, a dead worker) resumes there: the file is cut back to the committed
length and nothing is read or written twice. Commits per round: the job owns this unit of work.
"""

from __future__ import annotations

import csv
import io
import os
import re
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import IO, Any

from flask import current_app
from sqlalchemy import or_, update

from shopify_app.imports.preview import create_import
from shopify_app.imports.uploads import import_dir
from shopify_app.mailchimp.client import (
    PAGE_SIZE,
    MailchimpClient,
    MailchimpError,
    MailchimpUnauthorized,
    MailchimpUnavailable,
)
from shopify_app.mailchimp.connection import NotConnected, client_for, mark_broken
from shopify_app.platform.contact_fields import is_valid_email, normalize_locale
from shopify_app.platform.customer_store import email_key
from shopify_app.platform.errors import AppError, ImportFileError
from shopify_app.platform.extensions import db
from shopify_app.platform.models import MailchimpFetch, Segment, Shop
from shopify_app.platform.models.base import utcnow
from shopify_app.platform.models.imports import CONTACTS
from shopify_app.platform.models.mailchimp import (
    FETCH_BROKEN,
    FETCH_DONE,
    FETCH_FAILED,
    FETCH_INTERRUPTED,
    FETCH_QUEUED,
    FETCH_RUNNING,
)

HEADER = ("email", "first_name", "last_name", "locale")
#: why a member was not staged, as the import page words them.
SKIP_REASONS = {
    "unsubscribed": "unsubscribed",
    "cleaned": "cleaned (bounced addresses)",
    "not_subscribed": "no longer subscribed when read",
    "no_email": "without an email address",
    "invalid_email": "with an invalid email address",
    "duplicate": "already in another chosen audience",
}
START = {"audience": 0, "offset": 0, "bytes": 0}


class NoAudienceChosen(AppError):
    """The merchant picked no audience."""


def start_fetch(
    shop: Shop, client: MailchimpClient, audience_ids: list[str], segment: Segment
) -> MailchimpFetch:
    """Check the chosen audiences with Mailchimp and record the fetch; the caller commits and
    queues it. The unsubscribed and cleaned members are counted from the audiences' stats:
    only subscribed members are read."""
    ids = list(dict.fromkeys(i.strip() for i in audience_ids if i.strip()))
    if not ids:
        raise NoAudienceChosen("Choose at least one Mailchimp audience.")
    audiences = [client.audience(list_id) for list_id in ids]
    skipped = dict.fromkeys(SKIP_REASONS, 0)
    skipped["unsubscribed"] = sum(a["unsubscribed"] for a in audiences)
    skipped["cleaned"] = sum(a["cleaned"] for a in audiences)
    fetch = MailchimpFetch(
        shop_id=shop.id,
        segment_id=segment.id,
        audiences=[{k: a[k] for k in ("id", "name", "members")} for a in audiences],
        status=FETCH_QUEUED,
        position=dict(START),
        skipped=skipped,
        staging_path=str(import_dir(shop) / f"mailchimp-{uuid.uuid4().hex}.csv.part"),
    )
    db.session.add(fetch)
    db.session.flush()
    return fetch


def _claim(fetch_id: int) -> bool:
    """Take the fetch for this run: queued, interrupted, or running with a silent worker."""
    now = utcnow()
    lease = timedelta(seconds=float(current_app.config["IMPORT_LEASE_SECONDS"]))
    claimed = db.session.execute(
        update(MailchimpFetch)
        .where(
            MailchimpFetch.id == fetch_id,
            or_(
                MailchimpFetch.status.in_([FETCH_QUEUED, FETCH_INTERRUPTED]),
                (MailchimpFetch.status == FETCH_RUNNING)
                & (MailchimpFetch.heartbeat_at < now - lease),
            ),
        )
        .values(status=FETCH_RUNNING, heartbeat_at=now, error_message=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return bool(claimed)


def run_fetch(fetch_id: int, client: MailchimpClient | None = None) -> str:
    """Read the fetch's audiences from where it stopped, then preview them as an import.

    Returns the fetch's status. A 401 marks the connection broken ("Reconnect Mailchimp");
    Mailchimp unreachable past the retries leaves it interrupted, for the sweep to resume.
    """
    if not _claim(fetch_id):
        fetch = db.session.get(MailchimpFetch, fetch_id)
        return fetch.status if fetch is not None else "missing"
    fetch = db.session.get(MailchimpFetch, fetch_id)
    shop = db.session.get(Shop, fetch.shop_id)
    try:
        started = time.monotonic()
        _read_audiences(fetch, client or client_for(shop))
        _preview(shop, fetch, read_seconds=time.monotonic() - started)
    except (MailchimpUnauthorized, NotConnected) as error:
        db.session.rollback()
        if isinstance(error, MailchimpUnauthorized) and client is None:
            mark_broken(shop)  # the stored token died (a command's own key is not stored)
        _stop(fetch, FETCH_BROKEN, str(error))
    except MailchimpUnavailable as error:
        db.session.rollback()
        _stop(fetch, FETCH_INTERRUPTED, str(error))
    except (MailchimpError, ImportFileError) as error:
        db.session.rollback()
        _stop(fetch, FETCH_FAILED, str(error))
    return fetch.status


def _stop(fetch: MailchimpFetch, status: str, message: str) -> None:
    fetch.status, fetch.error_message, fetch.heartbeat_at = status, message, utcnow()
    db.session.commit()


def _open_staging(fetch: MailchimpFetch) -> tuple[IO[bytes], set[str]]:
    """The staged file cut back to the committed length, and the addresses already in it.

    A staged file shorter than the committed length (deleted by the retention sweep while the
    fetch waited) cannot be trusted: the fetch starts again from the first page.
    """
    path = Path(fetch.staging_path)
    size = path.stat().st_size if path.exists() else 0
    if size < fetch.position["bytes"] or fetch.position["bytes"] == 0:
        fetch.position, fetch.read, fetch.staged = dict(START), 0, 0
        fetch.skipped = {
            **dict.fromkeys(SKIP_REASONS, 0),
            "unsubscribed": fetch.skipped.get("unsubscribed", 0),
            "cleaned": fetch.skipped.get("cleaned", 0),
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        stream = open(path, "w+b")  # noqa: SIM115 (closed by the caller)
        stream.write((",".join(HEADER) + "\r\n").encode())
        return stream, set()
    stream = open(path, "r+b")  # noqa: SIM115 (closed by the caller)
    stream.truncate(fetch.position["bytes"])
    text = io.TextIOWrapper(stream, encoding="utf-8", newline="")
    rows = csv.reader(text)
    next(rows, None)
    seen = {email_key(row[0]) or row[0] for row in rows}
    text.detach()
    stream.seek(0, os.SEEK_END)
    return stream, seen


def _read_audiences(fetch: MailchimpFetch, client: MailchimpClient) -> None:
    connections = int(current_app.config["MAILCHIMP_CONNECTIONS"])
    stream, seen = _open_staging(fetch)
    try:
        with ThreadPoolExecutor(max_workers=connections) as pool:
            first = fetch.position["audience"]
            for index in range(first, len(fetch.audiences)):
                audience = fetch.audiences[index]
                offset = fetch.position["offset"] if index == first else 0
                total = audience["members"]
                while offset < total:
                    offsets = [offset + k * PAGE_SIZE for k in range(connections)]
                    offsets = [o for o in offsets if o < total]
                    pages = list(
                        pool.map(lambda o, a=audience: client.members_page(a["id"], o), offsets)
                    )
                    _stage(fetch, pages, seen, stream)
                    offset = offsets[-1] + PAGE_SIZE
                    total = pages[-1].get("total_items", total)
                    if not pages[-1].get("members"):
                        break
                    fetch.position = {"audience": index, "offset": offset, "bytes": stream.tell()}
                    fetch.heartbeat_at = utcnow()
                    db.session.commit()
                fetch.position = {"audience": index + 1, "offset": 0, "bytes": stream.tell()}
                db.session.commit()
    finally:
        stream.close()


def _stage(
    fetch: MailchimpFetch, pages: list[dict[str, Any]], seen: set[str], stream: IO[bytes]
) -> None:
    """Append the pages' importable members; count the others by reason."""
    skipped = dict(fetch.skipped)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    read = staged = 0
    for page in pages:
        for member in page.get("members", []):
            read += 1
            email = (member.get("email_address") or "").strip()
            key = email_key(email) if email else None
            if member.get("status", "subscribed") != "subscribed":
                reason = "not_subscribed"
            elif not email:
                reason = "no_email"
            elif not key or not is_valid_email(email):
                reason = "invalid_email"
            elif key in seen:
                reason = "duplicate"
            else:
                seen.add(key)
                merge = member.get("merge_fields") or {}
                locale = normalize_locale(member.get("language") or "") or ""
                writer.writerow([email, merge.get("FNAME", ""), merge.get("LNAME", ""), locale])
                staged += 1
                continue
            skipped[reason] += 1
    stream.write(out.getvalue().encode("utf-8"))
    stream.flush()
    os.fsync(stream.fileno())
    fetch.read += read
    fetch.staged += staged
    fetch.skipped = skipped


def _import_name(fetch: MailchimpFetch) -> str:
    names = " + ".join(a["name"] for a in fetch.audiences)
    return "Mailchimp " + re.sub(r"[^\w .+-]", "_", names)[:200] + ".csv"


def _preview(shop: Shop, fetch: MailchimpFetch, *, read_seconds: float) -> None:
    """Create the contacts import of the staged file (previewed, waiting for confirmation)."""
    segment = db.session.get(Segment, fetch.segment_id) if fetch.segment_id else None
    if segment is None:
        raise ImportFileError("The segment chosen for this import was deleted; start again.")
    if fetch.staged == 0:
        raise ImportFileError(
            "None of the members read from Mailchimp can be imported; see the counts below."
        )
    path = Path(fetch.staging_path)
    started = time.monotonic()
    with open(path, "rb") as stream:
        job = create_import(shop, CONTACTS, _import_name(fetch), stream, segment=segment)
    job.summary = {
        **(job.summary or {}),
        "mailchimp": {
            "fetch_id": fetch.id,
            "audiences": [a["name"] for a in fetch.audiences],
            "read": fetch.read,
            "skipped": {SKIP_REASONS[k]: v for k, v in fetch.skipped.items() if v},
            # this run's read (a resumed fetch's last part) and the preview, for the bench.
            "seconds": {"read": read_seconds, "preview": time.monotonic() - started},
        },
    }
    fetch.import_id = job.id
    fetch.status = FETCH_DONE
    fetch.heartbeat_at = utcnow()
    db.session.commit()
    path.unlink(missing_ok=True)


MESSAGES = {
    FETCH_QUEUED: "Waiting for a worker…",
    FETCH_RUNNING: "Reading members from Mailchimp…",
    FETCH_INTERRUPTED: "Mailchimp stopped answering; the read resumes where it stopped.",
    FETCH_DONE: "Read. Check the preview, then confirm the import.",
}


def progress(fetch: MailchimpFetch) -> dict[str, Any]:
    """What the fetch page and its poll show (the shape of an import's progress)."""
    total = sum(a["members"] for a in fetch.audiences)
    finished = fetch.status in (FETCH_DONE, FETCH_FAILED, FETCH_BROKEN)
    return {
        "status": fetch.status,
        "done": fetch.read,
        "total": total,
        "percent": 100.0 if finished else (round(100 * fetch.read / total, 1) if total else 0.0),
        "staged": fetch.staged,
        "skipped": {SKIP_REASONS[k]: v for k, v in fetch.skipped.items() if v},
        "import_id": fetch.import_id,
        "message": fetch.error_message or MESSAGES.get(fetch.status, fetch.status.capitalize()),
        "finished": finished,
    }
