"""The one place a shop domain is parsed: a full match of the myshopify pattern, nothing else."""

from __future__ import annotations

import re

from shopify_app.platform.errors import InvalidShopDomain

SHOP_DOMAIN_RE = re.compile(r"[a-z0-9][a-z0-9-]*\.myshopify\.com")


def normalize_shop_domain(value: str | None) -> str:
    """Return the shop domain or raise InvalidShopDomain.

    Only lower-casing and surrounding whitespace are forgiven; unlike ShopifyAPI's
    sanitize_shop_domain nothing is rewritten, so `x.myshopify.com/../x` is refused.
    """
    if not value:
        raise InvalidShopDomain("missing shop parameter")
    candidate = value.strip().lower()
    if len(candidate) > 255 or not SHOP_DOMAIN_RE.fullmatch(candidate):
        raise InvalidShopDomain(f"{value!r} is not a valid myshopify.com domain")
    return candidate


def is_valid_shop_domain(value: str | None) -> bool:
    try:
        normalize_shop_domain(value)
    except InvalidShopDomain:
        return False
    return True
