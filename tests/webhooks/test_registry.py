"""The topics the app subscribes to in shopify.app.toml are exactly the ones it handles."""

from __future__ import annotations

import tomllib
from pathlib import Path

from webhooks.registry import TOPICS

TOML = Path(__file__).resolve().parents[2] / "shopify.app.toml"


def _subscribed() -> set[str]:
    config = tomllib.loads(TOML.read_text())
    topics: set[str] = set()
    for subscription in config["webhooks"]["subscriptions"]:
        topics.update(subscription.get("topics", []))
        topics.update(subscription.get("compliance_topics", []))
    return topics


def test_every_handled_topic_is_subscribed_and_every_subscription_handled() -> None:
    assert _subscribed() == set(TOPICS)


def test_account_state_topics_are_subscribed() -> None:
    """Shopify sends customers/enable on a first sign-in to customer accounts (2026-10)."""
    assert {"customers/enable", "customers/disable"} <= _subscribed()
    assert TOPICS["customers/enable"] is TOPICS["customers/disable"]
