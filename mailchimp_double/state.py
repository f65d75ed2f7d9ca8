"""The double's records: accounts, their audiences and members, tokens, and injected faults.

Everything is guarded by one lock; the HTTP views and the Python methods share it.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

#: every status Marketing API 3.0 gives a list member.
MEMBER_STATUSES = ("subscribed", "unsubscribed", "cleaned", "pending", "transactional")


def subscriber_hash(email: str) -> str:
    """Mailchimp's member id: the MD5 of the lowercased address."""
    return hashlib.md5(email.lower().encode()).hexdigest()  # noqa: S324 (Mailchimp's own choice)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


@dataclass
class Member:
    email_address: str
    status: str
    first_name: str = ""
    last_name: str = ""
    language: str = ""
    #: unique per audience even when the address is empty (an SMS-only contact).
    number: int = 0

    @property
    def id(self) -> str:
        return subscriber_hash(self.email_address or f"contact-{self.number}")

    def to_json(self, list_id: str, created: str) -> dict[str, Any]:
        full_name = " ".join(part for part in (self.first_name, self.last_name) if part)
        return {
            "id": self.id,
            "email_address": self.email_address,
            "unique_email_id": self.id[:10],
            "contact_id": self.id[10:26],
            "full_name": full_name,
            "web_id": self.number + 100_000,
            "email_type": "html",
            "status": self.status,
            "consents_to_one_to_one_messaging": True,
            "merge_fields": {
                "FNAME": self.first_name,
                "LNAME": self.last_name,
                "ADDRESS": "",
                "PHONE": "",
                "BIRTHDAY": "",
            },
            "stats": {"avg_open_rate": 0, "avg_click_rate": 0},
            "ip_signup": "",
            "timestamp_signup": "",
            "ip_opt": "",
            "timestamp_opt": created,
            "member_rating": 2,
            "last_changed": created,
            "language": self.language,
            "vip": False,
            "email_client": "",
            "location": {"latitude": 0, "longitude": 0, "gmtoff": 0, "dstoff": 0},
            "source": "Import",
            "tags_count": 0,
            "tags": [],
            "list_id": list_id,
            "_links": [],
        }


@dataclass
class Audience:
    id: str
    name: str
    web_id: int
    created: str
    members: list[Member] = field(default_factory=list)
    #: indexes into `members` of the subscribed ones: the `status=subscribed` page source.
    subscribed: list[int] = field(default_factory=list)

    def add(self, member: Member) -> None:
        if member.status not in MEMBER_STATUSES:
            raise ValueError(f"member status must be one of {MEMBER_STATUSES}")
        member.number = len(self.members)
        if member.status == "subscribed":
            self.subscribed.append(len(self.members))
        self.members.append(member)

    def count(self, status: str) -> int:
        if status == "subscribed":
            return len(self.subscribed)
        return sum(1 for m in self.members if m.status == status)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "web_id": self.web_id,
            "name": self.name,
            "contact": {"company": "", "address1": "", "city": "", "country": "US"},
            "permission_reminder": "You signed up on our website.",
            "use_archive_bar": True,
            "campaign_defaults": {
                "from_name": "",
                "from_email": "",
                "subject": "",
                "language": "en",
            },
            "email_type_option": False,
            "date_created": self.created,
            "list_rating": 3,
            "subscribe_url_short": f"https://eepurl.com/{self.id[:6]}",
            "visibility": "pub",
            "double_optin": False,
            "has_welcome": False,
            "marketing_permissions": False,
            "stats": {
                "member_count": self.count("subscribed"),
                "total_contacts": len(self.members),
                "unsubscribe_count": self.count("unsubscribed"),
                "cleaned_count": self.count("cleaned"),
                "member_count_since_send": 0,
                "campaign_count": 0,
                "avg_sub_rate": 0,
                "open_rate": 0,
                "click_rate": 0,
            },
            "_links": [],
        }


@dataclass
class Account:
    login: str
    dc: str
    name: str
    email: str
    user_id: int
    audiences: dict[str, Audience] = field(default_factory=dict)
    #: requests being answered now: Mailchimp allows 10 at once per account.
    in_flight: int = 0


@dataclass
class Faults:
    """Failures the next calls of the API get (tests and the bench set them)."""

    heavy_load: int = 0  # bare 403, no JSON body
    too_many: int = 0  # 429 problem+json
    server_errors: int = 0
    server_status: int = 503
    #: member pages served normally before `drops` connections are dropped.
    drop_after_pages: int | None = None
    drops: int = 0
    latency: float = 0.0


class Store:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        self.accounts: dict[str, Account] = {}
        #: OAuth access token → account login; revoked ones are removed.
        self.tokens: dict[str, str] = {}
        #: API key → account login.
        self.api_keys: dict[str, str] = {}
        #: authorization code → (login, client_id, redirect_uri).
        self.codes: dict[str, tuple[str, str, str]] = {}
        self.faults = Faults()
        self.member_pages_served = 0
        #: every API call: (method, path, query) for tests that check what the app asked.
        self.calls: list[tuple[str, str, dict[str, str]]] = []
        self.max_in_flight = 0
        self.next_web_id = 10_000
