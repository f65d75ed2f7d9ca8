"""The app's frame: navigation every page shares, its icon, and the development style guide."""

from __future__ import annotations

from datetime import datetime

from shopify_app import create_app
from shopify_app.platform.extensions import db


def test_every_page_links_the_invitations_and_has_an_icon(admin):
    page = admin.get("/customers").get_data(as_text=True)
    assert ">Invitations</a>" in page
    assert 'rel="icon" href="/static/favicon.svg"' in page


def test_the_icon_is_served(client):
    with client.get("/static/favicon.svg") as response:
        assert response.status_code == 200 and b"<svg" in response.data


def test_the_style_guide_is_served_in_development(client):
    response = client.get("/styleguide")
    assert response.status_code == 200 and b"Style guide" in response.data


def test_the_style_guide_is_not_served_in_production(app):
    production = create_app(
        {
            "APP_ENV": "production",
            "SHOPIFY_API_KEY": "key",
            "SHOPIFY_API_SECRET": "secret-0123456789abcdef0123456789",
            "SHOPIFY_APP_URL": "https://app.example.com",
            "SECRET_KEY": "production-secret-key-0123456789abcdef",
            "DATABASE_URL": app.config["DATABASE_URL"],
            "SQLALCHEMY_DATABASE_URI": app.config["DATABASE_URL"],
        }
    )
    assert "styleguide" not in production.view_functions
    assert production.test_client().get("/styleguide").status_code == 404


def test_times_on_home_are_in_the_shops_time_zone(admin, shop):
    shop.timezone = "America/New_York"
    shop.installed_at = datetime(2026, 12, 3, 20, 7)
    db.session.commit()
    page = admin.get("/").get_data(as_text=True)
    assert "Dec 3, 2026, 15:07 EST" in page
    assert "20:07 UTC" not in page and "ENABLED" not in page
