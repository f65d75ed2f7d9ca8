"""The demo's caught emails: the `.eml` files the local mail sink (`demo/mail_sink.py`) writes.

Read with the standard library only, so the runtime shows them without importing the sink.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

#: the sink's file names: arrival in nanoseconds and a random suffix (nothing else is read).
NAME = re.compile(r"^[0-9]{10,20}-[0-9a-f]{8}$")


@dataclass(frozen=True)
class CaughtEmail:
    name: str
    received_at: datetime
    sender: str
    to: str
    subject: str
    text: str


def caught_emails(directory: str | Path, limit: int = 200) -> list[CaughtEmail]:
    """The newest caught emails first; an absent folder is an empty inbox."""
    folder = Path(directory)
    if not folder.is_dir():
        return []
    names = sorted((p.stem for p in folder.glob("*.eml") if NAME.match(p.stem)), reverse=True)
    return [email for email in (_read(folder, n) for n in names[:limit]) if email]


def caught_email(directory: str | Path, name: str) -> CaughtEmail | None:
    """One caught email by its name, or None (a name that is not the sink's is never opened)."""
    return _read(Path(directory), name) if NAME.match(name) else None


def _read(folder: Path, name: str) -> CaughtEmail | None:
    try:
        raw = (folder / f"{name}.eml").read_bytes()
    except OSError:
        return None
    message: EmailMessage = message_from_bytes(raw, policy=policy.default)  # type: ignore[assignment]
    body = message.get_body(preferencelist=("plain", "html"))
    return CaughtEmail(
        name=name,
        received_at=datetime.fromtimestamp(int(name.split("-")[0]) / 1e9, UTC),
        sender=str(message.get("From", "")),
        to=str(message.get("To", "")) or str(message.get("X-Sink-Envelope-To", "")),
        subject=str(message.get("Subject", "")),
        text=body.get_content() if body is not None else "",
    )
