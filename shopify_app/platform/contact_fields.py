"""What a contact's email and locale must look like, wherever a contact comes in.

The contacts import, the Add customer form and the Mailchimp audience import check the same
way, so a customer one of them refuses is never accepted by another.
"""

from __future__ import annotations

import re

MAX_EMAIL = 254
_EMAIL = re.compile(
    r"^[^\s@\"(),:;<>\[\]\\]+@"
    r"(?:[^\W_](?:[\w-]{0,61}[^\W_])?\.)+[^\W\d_][^\W_]{1,62}$"
)
#: languages Shopify stores can be translated into (ISO 639-1, plus fil).
LANGUAGES = frozenset(
    "af ar az be bg bn bs ca cs cy da de el en eo es et eu fa fi fil fo fr ga gd gl gu he hi "
    "hr hu hy id is it ja ka kk km kn ko ky lb lo lt lv mk ml mn mr ms mt my nb ne nl nn no pa "
    "pl ps pt ro ru si sk sl so sq sr sv sw ta te th tk tr uk ur uz vi zh zu".split()
)
_LOCALE = re.compile(r"^([a-z]{2,3})(?:[-_]([a-z]{4}))?(?:[-_]([a-z]{2}|\d{3}))?$", re.IGNORECASE)


def normalize_locale(text: str) -> str | None:
    """`en_us` → `en-US`, `zh-hant` → `zh-Hant`; None when Shopify would not know it."""
    match = _LOCALE.match(text.strip())
    if not match or match.group(1).lower() not in LANGUAGES:
        return None
    language, script, region = match.groups()
    parts = [language.lower()]
    if script:
        parts.append(script.title())
    if region:
        parts.append(region.upper())
    return "-".join(parts)


def is_valid_email(text: str) -> bool:
    if len(text) > MAX_EMAIL or ".." in text:
        return False
    local = text.rpartition("@")[0]
    return bool(_EMAIL.match(text)) and not local.startswith(".") and not local.endswith(".")
