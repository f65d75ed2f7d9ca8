"""What the Klaviyo double holds per account: its keys and their scopes, profiles with their
properties, events (deduplicated on `unique_id` as Klaviyo does), bulk jobs, and the record
of profiles deleted for data privacy (Klaviyo keeps the contact information as proof)."""

from __future__ import annotations

import itertools
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

#: every scope a private key can hold that the app's calls need (Klaviyo's scope names).
ALL_SCOPES = frozenset(
    {
        "accounts:read",
        "profiles:read",
        "profiles:write",
        "events:read",
        "events:write",
        "lists:write",
        "data-privacy:write",
    }
)
#: the demo account's private key, seeded on start (the README prints it).
DEMO_KEY = "pk_demo_4f6b2e0c9d1a8e7f3b5c2d9e1f0a7b6c"
DEMO_ACCOUNT = "Demo Store (Klaviyo double)"


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_id(prefix: str = "") -> str:
    """An id shaped like Klaviyo's (26 upper-case characters for profiles, opaque for jobs)."""
    return prefix + secrets.token_hex(13).upper()


@dataclass
class Profile:
    id: str
    email: str
    attributes: dict[str, Any] = field(default_factory=dict)
    properties: dict[str, Any] = field(default_factory=dict)
    created: str = field(default_factory=now_iso)
    updated: str = field(default_factory=now_iso)


@dataclass
class Event:
    id: str
    metric: str
    email: str
    properties: dict[str, Any]
    time: str
    unique_id: str
    received: str = field(default_factory=now_iso)


@dataclass
class BulkJob:
    """A profile import or event bulk-create job; the double runs it on receipt."""

    id: str
    type: str
    total: int
    completed: int = 0
    failed: int = 0
    created_at: str = field(default_factory=now_iso)
    #: polls left before the job reports complete (Klaviyo's jobs take a moment).
    polls_until_complete: int = 1

    def resource(self) -> dict[str, Any]:
        complete = self.polls_until_complete <= 0
        return {
            "type": self.type,
            "id": self.id,
            "attributes": {
                "status": "complete" if complete else "queued",
                "created_at": self.created_at,
                "total_count": self.total,
                "completed_count": self.completed if complete else 0,
                "failed_count": self.failed if complete else 0,
                "completed_at": now_iso() if complete else None,
                "expires_at": None,
                "started_at": self.created_at,
            },
        }


@dataclass
class Deletion:
    """One data-privacy deletion request: the identifier it named and what it removed."""

    identifier: str
    profiles: int
    events: int
    requested: str = field(default_factory=now_iso)


@dataclass
class Account:
    id: str
    name: str
    profiles: dict[str, Profile] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    unique_ids: set[tuple[str, str, str]] = field(default_factory=set)
    jobs: dict[str, BulkJob] = field(default_factory=dict)
    #: how often each kind of entry arrived, duplicates included (the bench's "sent once").
    received: dict[str, int] = field(default_factory=dict)
    duplicate_events: int = 0
    #: (kind, email) in arrival order: profile writes and events, for "in order" checks.
    log: list[tuple[str, str]] = field(default_factory=list)
    #: data-privacy deletions in arrival order (Klaviyo's "Deleted profiles" page).
    deletions: list[Deletion] = field(default_factory=list)

    def count(self, kind: str, n: int = 1) -> None:
        self.received[kind] = self.received.get(kind, 0) + n

    def upsert_profile(self, attributes: dict[str, Any]) -> tuple[Profile, bool]:
        """Create or update by email; properties merge key by key (Klaviyo's behaviour)."""
        email = str(attributes["email"]).strip().lower()
        profile = self.profiles.get(email)
        created = profile is None
        if profile is None:
            profile = Profile(id=new_id(), email=email)
            self.profiles[email] = profile
        for key, value in attributes.items():
            if key not in ("email", "properties"):
                profile.attributes[key] = value
        profile.properties.update(attributes.get("properties") or {})
        profile.updated = now_iso()
        self.log.append(("profile", email))
        return profile, created

    def add_event(
        self, metric: str, email: str, properties: dict[str, Any], time: str, unique_id: str
    ) -> bool:
        """Record an event unless one of the metric with that unique_id exists for the profile."""
        key = (metric, email.lower(), unique_id)
        self.count("event")
        if key in self.unique_ids:
            self.duplicate_events += 1
            return False
        self.unique_ids.add(key)
        self.events.append(Event(new_id(), metric, email.lower(), properties, time, unique_id))
        self.log.append(("event", email.lower()))
        return True

    def delete_profiles(self, identifier: str, value: str) -> Deletion:
        """Delete every profile that `identifier` (email, phone_number or id) matches, with
        its events (Klaviyo's GDPR deletion: nothing of the profile is left but this record)."""
        wanted = value.strip().lower() if identifier == "email" else value
        gone = [
            p
            for p in self.profiles.values()
            if (identifier == "email" and p.email == wanted)
            or (identifier == "phone_number" and p.attributes.get("phone_number") == wanted)
            or (identifier == "id" and p.id == wanted)
        ]
        emails = {p.email for p in gone}
        for profile in gone:
            del self.profiles[profile.email]
        kept = [e for e in self.events if e.email not in emails]
        removed = len(self.events) - len(kept)
        self.events = kept
        self.unique_ids = {u for u in self.unique_ids if u[1] not in emails}
        deletion = Deletion(wanted, len(gone), removed)
        self.deletions.append(deletion)
        self.log.append(("deletion", wanted))
        return deletion


@dataclass
class Key:
    key: str
    account_id: str
    scopes: frozenset[str]


class Store:
    """Accounts and keys; callers hold the double's lock."""

    def __init__(self) -> None:
        self.accounts: dict[str, Account] = {}
        self.keys: dict[str, Key] = {}
        self._ids = itertools.count(1)

    def add_account(self, name: str) -> Account:
        account = Account(id=f"AcC{next(self._ids):05d}", name=name)
        self.accounts[account.id] = account
        return account

    def add_key(self, key: str, account: Account, scopes: frozenset[str] = ALL_SCOPES) -> Key:
        self.keys[key] = Key(key, account.id, frozenset(scopes))
        return self.keys[key]
