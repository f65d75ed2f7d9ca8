"""Settings read from the environment, in one place.

Development gets working defaults so `bin/run` needs no configuration; production refuses to
start without its secrets, because a silent default secret would let anyone forge webhooks.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from shopify_app.platform.errors import SettingsError

PROJECT_ROOT = Path(__file__).resolve().parents[2]
INSTANCE_DIR = PROJECT_ROOT / "instance"

#: Settings that must be set explicitly when APP_ENV=production.
REQUIRED_IN_PRODUCTION = (
    "SHOPIFY_API_KEY",
    "SHOPIFY_API_SECRET",
    "SHOPIFY_APP_URL",
    "SECRET_KEY",
    "DATABASE_URL",
)

DEFAULTS: dict[str, Any] = {
    "APP_ENV": "development",
    "SHOPIFY_API_KEY": "dev-api-key",
    "SHOPIFY_API_SECRET": "dev-api-secret-not-for-production-use",
    # SHOPIFY_SCOPES and SHOPIFY_API_VERSION default to shopify.app.toml's (see app_toml()).
    "SHOPIFY_SCOPES": "",
    "SHOPIFY_APP_URL": "http://127.0.0.1:5000",
    "SHOPIFY_API_VERSION": "",
    "SHOPIFY_API_BASE": "https://{shop}",
    "DATABASE_URL": f"sqlite:///{INSTANCE_DIR / 'app.sqlite3'}",
    "REDIS_URL": "redis://localhost:6379/0",
    "SECRET_KEY": "dev-secret-key-change-me",
    "SMTP_URL": "smtp://127.0.0.1:1025",
    "MAIL_FROM": "referrals@example.com",
    "DEMO_MODE": False,
    # Where the demo's local mail sink keeps caught emails (read by the demo's mail page).
    "DEMO_MAIL_DIR": str(INSTANCE_DIR / "mail"),
    "RQ_QUEUE": "default",
    "RQ_ASYNC": True,
    "IMPORT_DIR": str(INSTANCE_DIR / "imports"),
    "EXPORT_DIR": str(INSTANCE_DIR / "exports"),
    "HTTP_TIMEOUT": 10.0,
    # Seconds to wait for PostgreSQL to accept a connection (libpq's minimum is 2).
    "DATABASE_CONNECT_TIMEOUT": 5,
    # A claimed webhook delivery whose worker went silent this long is re-run by the sweeper.
    "WEBHOOK_LEASE_SECONDS": 60.0,
    "SWEEP_INTERVAL_SECONDS": 30.0,
    # A running import whose worker went silent this long is resumed (SQLite; PostgreSQL
    # knows at once through the advisory lock).
    "IMPORT_LEASE_SECONDS": 60.0,
    # A started customer sync with no progress this long is queued again (it resumes). Longer
    # than RQ's job timeout (180 s), so only a sync no live worker runs goes this long silent.
    "SYNC_LEASE_SECONDS": 300.0,
    # SMTP connections an invitation sender keeps open in parallel.
    "SMTP_CONNECTIONS": 4,
    # Seconds an SMTP connect or reply may take; connecting is tried three times at most.
    "SMTP_TIMEOUT": 10.0,
    # App proxy requests signed longer ago than this are refused (replays).
    "PROXY_MAX_AGE_SECONDS": 300.0,
    # Request bodies, refused with 413 from Content-Length before they are read: a CSV upload
    # (the limit the import page states), a webhook delivery, and every other form or fetch.
    "MAX_UPLOAD_BYTES": 100 * 1024 * 1024,
    "MAX_WEBHOOK_BYTES": 5 * 1024 * 1024,
    "MAX_FORM_BYTES": 1024 * 1024,
    # Uploaded CSVs hold customer data: deleted this long after their import is done,
    # discarded or reverted (the figures and rejected rows stay on the import's page).
    "UPLOAD_RETENTION_HOURS": 24.0,
    # An upload previewed but never confirmed nor discarded is discarded this long after.
    "PREVIEW_RETENTION_HOURS": 168.0,
    # Export files are deleted this long after they were written ("export again").
    "EXPORT_RETENTION_HOURS": 24.0,
    # "Send me a test email" goes to any address typed: a few an hour per shop, not a relay.
    "TEST_EMAILS_PER_HOUR": 10,
    # Klaviyo's API host, without `/api` (the client adds `/api/...`); tests and the demo
    # point it at the Klaviyo double. The revision is the API version every call pins.
    "KLAVIYO_API_BASE": "https://a.klaviyo.com",
    "KLAVIYO_REVISION": "2026-10-15",
    # Mailchimp OAuth app credentials (Mailchimp's "Registered apps") and where it lives;
    # tests and the demo point both bases at the local Mailchimp double. {dc}: data center.
    "MAILCHIMP_CLIENT_ID": "dev-mailchimp-client",
    "MAILCHIMP_CLIENT_SECRET": "dev-mailchimp-secret",
    "MAILCHIMP_OAUTH_BASE": "https://login.mailchimp.com",
    "MAILCHIMP_API_BASE": "https://{dc}.api.mailchimp.com/3.0",
    # Member pages read at once per audience fetch (Mailchimp allows 10 connections per account).
    "MAILCHIMP_CONNECTIONS": 4,
}

_BOOLEAN_SETTINGS = {"DEMO_MODE", "RQ_ASYNC"}
_FLOAT_SETTINGS = {
    "HTTP_TIMEOUT",
    "WEBHOOK_LEASE_SECONDS",
    "SWEEP_INTERVAL_SECONDS",
    "IMPORT_LEASE_SECONDS",
    "SYNC_LEASE_SECONDS",
    "PROXY_MAX_AGE_SECONDS",
    "SMTP_TIMEOUT",
    "UPLOAD_RETENTION_HOURS",
    "PREVIEW_RETENTION_HOURS",
    "EXPORT_RETENTION_HOURS",
}
_INT_SETTINGS = {
    "SMTP_CONNECTIONS",
    "DATABASE_CONNECT_TIMEOUT",
    "MAX_UPLOAD_BYTES",
    "MAX_WEBHOOK_BYTES",
    "MAX_FORM_BYTES",
    "TEST_EMAILS_PER_HOUR",
    "MAILCHIMP_CONNECTIONS",
}
#: durations that cannot be negative.
_NON_NEGATIVE_SETTINGS = {
    "UPLOAD_RETENTION_HOURS",
    "PREVIEW_RETENTION_HOURS",
    "EXPORT_RETENTION_HOURS",
}


def parse_boolean(value: str | bool) -> bool:
    """Strict boolean parser: a typo in an env var must fail loudly, not read as False."""
    if isinstance(value, bool):
        return value
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise SettingsError(f"not a boolean: {value!r}")


#: the app's configuration as the Shopify CLI deploys it: one source for scopes and version.
APP_TOML = PROJECT_ROOT / "shopify.app.toml"
#: what the Shopify CLI sets for `shopify app dev` (shopify.web.toml), read where ours is unset.
CLI_ALIASES = {"SHOPIFY_SCOPES": "SCOPES"}


def app_toml() -> dict[str, str]:
    """Scopes and API version from shopify.app.toml, so the install asks for what is deployed."""
    with open(APP_TOML, "rb") as file:
        config = tomllib.load(file)
    return {
        "SHOPIFY_SCOPES": config["access_scopes"]["scopes"],
        "SHOPIFY_API_VERSION": config["webhooks"]["api_version"],
    }


def load_settings(
    environ: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Merge defaults, the environment and explicit overrides (which win), then validate."""
    environ = os.environ if environ is None else environ
    overrides = overrides or {}
    settings: dict[str, Any] = {**DEFAULTS, **app_toml()}
    for key in DEFAULTS:
        if key in environ:
            settings[key] = environ[key]
        elif key in CLI_ALIASES and CLI_ALIASES[key] in environ:
            settings[key] = environ[CLI_ALIASES[key]]
    settings.update(overrides)

    for key in _BOOLEAN_SETTINGS:
        settings[key] = parse_boolean(settings[key])
    for key in _FLOAT_SETTINGS:
        settings[key] = float(settings[key])
    for key in _INT_SETTINGS:
        settings[key] = int(settings[key])
    for key in _NON_NEGATIVE_SETTINGS:
        if settings[key] < 0:
            raise SettingsError(f"{key} cannot be negative: {settings[key]}")

    if settings["APP_ENV"] == "production":
        missing = [k for k in REQUIRED_IN_PRODUCTION if not overrides.get(k) and not environ.get(k)]
        if missing:
            raise SettingsError("missing required settings for production: " + ", ".join(missing))
        if settings["DEMO_MODE"]:
            raise SettingsError("DEMO_MODE cannot be enabled in production")
        # Mailchimp is optional: unset in production it stays off, never on dev credentials.
        for key in ("MAILCHIMP_CLIENT_ID", "MAILCHIMP_CLIENT_SECRET"):
            if not overrides.get(key) and not environ.get(key):
                settings[key] = ""
    settings["SHOPIFY_APP_URL"] = settings["SHOPIFY_APP_URL"].rstrip("/")
    settings["SHOPIFY_API_BASE"] = settings["SHOPIFY_API_BASE"].rstrip("/")
    settings["KLAVIYO_API_BASE"] = settings["KLAVIYO_API_BASE"].rstrip("/")
    for key in ("MAILCHIMP_OAUTH_BASE", "MAILCHIMP_API_BASE"):
        settings[key] = settings[key].rstrip("/")
    if not 1 <= settings["MAILCHIMP_CONNECTIONS"] <= 10:
        raise SettingsError("MAILCHIMP_CONNECTIONS must be between 1 and 10 (Mailchimp's limit)")
    return settings
