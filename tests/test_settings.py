"""Settings: working development defaults, a clear error for production without secrets."""

from __future__ import annotations

import tomllib

import pytest

from shopify_app import create_app
from shopify_app.platform import settings
from shopify_app.platform.errors import SettingsError
from shopify_app.platform.settings import load_settings


def test_development_defaults_use_sqlite_under_instance():
    settings = load_settings(environ={})
    assert settings["DATABASE_URL"].startswith("sqlite:///")
    assert settings["DATABASE_URL"].endswith("instance/app.sqlite3")
    assert settings["REDIS_URL"] == "redis://localhost:6379/0"
    assert settings["SHOPIFY_API_BASE"] == "https://{shop}"


def test_production_without_secrets_names_what_is_missing():
    with pytest.raises(SettingsError) as error:
        load_settings(environ={"APP_ENV": "production", "SHOPIFY_API_KEY": "k"})
    message = str(error.value)
    assert "SHOPIFY_API_SECRET" in message and "SECRET_KEY" in message
    assert "SHOPIFY_API_KEY" not in message


def test_production_refuses_demo_mode():
    env = {
        "APP_ENV": "production",
        "SHOPIFY_API_KEY": "k",
        "SHOPIFY_API_SECRET": "s",
        "SHOPIFY_APP_URL": "https://a",
        "SECRET_KEY": "x",
        "DATABASE_URL": "sqlite://",
        "DEMO_MODE": "true",
    }
    with pytest.raises(SettingsError, match="DEMO_MODE"):
        load_settings(environ=env)


def test_config_mapping_overrides_environment(monkeypatch):
    monkeypatch.setenv("SHOPIFY_API_VERSION", "2025-01")
    app = create_app({"SHOPIFY_API_VERSION": "2026-10", "DATABASE_URL": "sqlite://"})
    assert app.config["SHOPIFY_API_VERSION"] == "2026-10"


def test_booleans_are_parsed_strictly():
    with pytest.raises(SettingsError):
        load_settings(environ={"DEMO_MODE": "maybe"})


def test_numeric_settings_are_read_from_the_environment_as_numbers():
    settings = load_settings(
        environ={
            "SMTP_CONNECTIONS": "8",
            "PROXY_MAX_AGE_SECONDS": "60",
            "IMPORT_LEASE_SECONDS": "5",
        }
    )
    assert settings["SMTP_CONNECTIONS"] == 8
    assert settings["PROXY_MAX_AGE_SECONDS"] == 60.0
    assert settings["IMPORT_LEASE_SECONDS"] == 5.0
    with pytest.raises(ValueError):
        load_settings(environ={"SMTP_CONNECTIONS": "many"})


def test_file_retention_settings_are_declared_typed_and_never_negative():
    defaults = load_settings(environ={})
    assert defaults["UPLOAD_RETENTION_HOURS"] == 24.0
    assert defaults["EXPORT_RETENTION_HOURS"] == 24.0
    assert defaults["PREVIEW_RETENTION_HOURS"] == 168.0
    settings = load_settings(
        environ={"UPLOAD_RETENTION_HOURS": "1.5", "EXPORT_RETENTION_HOURS": "0"}
    )
    assert (settings["UPLOAD_RETENTION_HOURS"], settings["EXPORT_RETENTION_HOURS"]) == (1.5, 0.0)
    with pytest.raises(SettingsError, match="EXPORT_RETENTION_HOURS"):
        load_settings(environ={"EXPORT_RETENTION_HOURS": "-1"})


def test_scopes_and_api_version_come_from_shopify_app_toml():
    """One source: the install asks for the scopes `shopify app deploy` declares."""
    with open(settings.APP_TOML, "rb") as file:
        toml = tomllib.load(file)
    loaded = settings.load_settings(environ={})
    assert loaded["SHOPIFY_SCOPES"] == toml["access_scopes"]["scopes"]
    assert loaded["SHOPIFY_API_VERSION"] == toml["webhooks"]["api_version"]


def test_the_shopify_clis_scopes_variable_is_read_when_ours_is_unset():
    assert settings.load_settings(environ={"SCOPES": "read_customers"})["SHOPIFY_SCOPES"] == (
        "read_customers"
    )
    both = {"SCOPES": "read_customers", "SHOPIFY_SCOPES": "read_orders"}
    assert settings.load_settings(environ=both)["SHOPIFY_SCOPES"] == "read_orders"
