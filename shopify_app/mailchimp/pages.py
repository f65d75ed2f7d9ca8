"""What the Mailchimp pages and the Imports page's Mailchimp card show, and where they lead."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import current_app, url_for
from sqlalchemy import select

from shopify_app.mailchimp import connection, fetching
from shopify_app.mailchimp.client import MailchimpError
from shopify_app.mailchimp.forms import FetchForm
from shopify_app.platform.auth.shop_domain import normalize_shop_domain
from shopify_app.platform.errors import InvalidShopDomain
from shopify_app.platform.extensions import db
from shopify_app.platform.models import MailchimpFetch, Segment, Shop
from shopify_app.platform.models.segment import STATIC
from shopify_app.platform.shops import get_shop
from shopify_app.platform.tenancy import enter_shop
from shopify_app.segments.store import find_segment, get_or_create_segment, segment_choices

RECENT = 5


def recent_fetches(shop: Shop, limit: int = RECENT) -> list[dict[str, Any]]:
    fetches = db.session.scalars(
        select(MailchimpFetch)
        .where(MailchimpFetch.shop_id == shop.id)
        .order_by(MailchimpFetch.id.desc())
        .limit(limit)
    )
    return [
        {
            "id": f.id,
            "names": [a["name"] for a in f.audiences],
            "created_at": f.created_at,
            **fetching.progress(f),
        }
        for f in fetches
    ]


def card(shop: Shop, config: Mapping[str, Any]) -> dict[str, Any]:
    """The Imports page's card: configured, connected (account), broken, recent reads."""
    found = connection.find_connection(shop)
    return {
        "configured": bool(config["MAILCHIMP_CLIENT_ID"]),
        "connected": found is not None,
        "account_name": found.account_name if found else None,
        "broken": bool(found and found.broken_at),
        "fetches": recent_fetches(shop, 3) if found else [],
    }


def index_page(shop: Shop) -> dict[str, Any]:
    """The account and its audiences; Mailchimp's refusal becomes the page's message."""
    data = {**card(shop, current_app.config), "audiences": [], "error": None}
    data["segments"] = segment_choices(shop, STATIC)
    data["fetches"] = recent_fetches(shop)
    if data["connected"] and not data["broken"]:
        try:
            data["audiences"] = connection.list_audiences(shop)
        except MailchimpError as error:
            # A 401 marked the connection broken; the view commits that.
            data["broken"] = connection.find_connection(shop).broken_at is not None
            data["error"] = str(error)
    return data


def start(shop: Shop, form: FetchForm) -> MailchimpFetch:
    """The fetch the form asks for, into the chosen or a new static segment."""
    client = connection.client_for(shop)
    chosen = form.segment_id.data or "new"
    segment: Segment | None
    if chosen.isdigit():
        segment = find_segment(shop, int(chosen))
        if segment is None:
            raise MailchimpError("That segment no longer exists; choose another.")
    else:
        segment = get_or_create_segment(shop, form.new_segment.data or "")
    return fetching.start_fetch(shop, client, form.audiences.data, segment)


def shop_of_state(state: Mapping[str, str]) -> Shop:
    """The installed shop a verified state names."""
    try:
        shop = get_shop(normalize_shop_domain(state.get("shop")))
    except InvalidShopDomain:
        shop = None
    if shop is None or not shop.is_installed:
        raise connection.InvalidMailchimpCallback(
            "The shop that started this Mailchimp connection is not installed."
        )
    enter_shop(shop.id)
    return shop


def landing_url(shop: Shop, host: str | None, *, demo: bool) -> str:
    """Back into the app's Mailchimp page: inside the Shopify admin, or the demo's page."""
    if demo:
        return url_for("mailchimp.index", shop=shop.domain)
    handle = shop.domain.removesuffix(".myshopify.com")
    api_key = current_app.config["SHOPIFY_API_KEY"]
    return f"https://admin.shopify.com/store/{handle}/apps/{api_key}/mailchimp"
