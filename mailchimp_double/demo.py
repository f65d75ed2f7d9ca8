"""The demo account: "Newsletter" (about 1,200 members, some not importable) and
"VIP customers" (150, most of them also on the Newsletter)."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .server import MailchimpDouble

FIRST = ["Ada", "Bo", "Chloé", "Dev", "Emma", "Farid", "Greta", "Hiro", "Ines", "Jonas", "Kemi"]
LAST = ["Lovelace", "Martin", "Nguyen", "Okafor", "Patel", "Rossi", "Silva", "Tanaka", "Weber"]
LANGUAGES = ["en", "en", "en", "fr", "de", "es", ""]
DEMO_LOGIN = "demo"


def seed_demo(double: MailchimpDouble, *, login: str = DEMO_LOGIN, dc: str = "us6") -> str:
    """Create the demo account and its two audiences; returns its API key."""
    rng = random.Random(15)
    key = double.add_account(login, dc=dc, name="Demo Referrals Store", email="owner@demo.example")
    people = [
        {
            "email_address": f"{first.lower()}.{last.lower()}.{n}@example.com",
            "first_name": first,
            "last_name": last,
            "language": rng.choice(LANGUAGES),
        }
        for n in range(1200)
        for first, last in [(rng.choice(FIRST), rng.choice(LAST))]
    ]
    newsletter = double.add_audience(login, "Newsletter", list_id="a1b2c3d4e5")
    for n, person in enumerate(people):
        if n % 40 == 7:
            person["status"] = "unsubscribed"
        elif n % 97 == 3:
            person["status"] = "cleaned"
        elif n % 150 == 11:
            person["status"] = "pending"
    double.add_members(login, newsletter, people)
    double.add_members(
        login,
        newsletter,
        [
            {"email_address": "", "first_name": "Sms", "last_name": "Only"},
            {"email_address": "no-at-sign.example.com", "first_name": "Typo"},
        ],
    )
    vip = double.add_audience(login, "VIP customers", list_id="f6e7d8c9b0")
    overlap = [dict(p, status="subscribed") for p in people[:140]]
    double.add_members(login, vip, overlap)
    double.generate_members(login, vip, 10, domain="vip.example.com")
    return key
