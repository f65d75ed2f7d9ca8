"""Exact money: integer minor units in, Decimal and text out, each currency with its own decimals.

The one place that knows how many decimals a currency has (CLDR's, through Babel) and how an
amount reads in a locale, so a stored 1234 is 12.34 USD, 1.234 KWD and ₩1,234 everywhere:
parsing Shopify's amounts, admin pages, emails and the CSV export alike. Never through float.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache

from babel import Locale, UnknownLocaleError
from babel.numbers import format_currency, get_currency_precision, get_currency_symbol

DEFAULT_LOCALE = "en"
NO_BREAK_SPACE = "\u00a0"
#: a letter of a currency code or name touching a digit ("KWD1.234", "1.234KWD").
_LETTER_TOUCHING_DIGIT = re.compile(r"(?<=[^\W\d_])(?=\d)|(?<=\d)(?=[^\W\d_])")


def exponent(currency: str) -> int:
    """How many decimals the currency's minor unit has: USD 2, JPY and KRW 0, KWD and BHD 3."""
    return get_currency_precision(currency.upper())


def to_minor(amount: str | int | Decimal | None, currency: str) -> int:
    """ "12.34" USD → 1234; raises ValueError on anything that is not a decimal amount."""
    if amount is None or amount == "":
        return 0
    try:
        value = Decimal(str(amount))
    except InvalidOperation as error:
        raise ValueError(f"{amount!r} is not an amount") from error
    scaled = (value * (Decimal(10) ** exponent(currency))).quantize(
        Decimal(1), rounding=ROUND_HALF_UP
    )
    return int(scaled)


def from_minor(minor: int, currency: str) -> Decimal:
    """1234 KWD minor units → Decimal("1.234"): exact, with the currency's decimals."""
    return Decimal(minor).scaleb(-exponent(currency))


def decimal_text(minor: int, digits: int) -> str:
    """Plain exact text of minor units with `digits` decimals ("-0.05", "1234", "1.234").

    No symbol, grouping or locale, so a spreadsheet reads it as a number and a form shows
    what a merchant types. `digits` is `exponent(currency)`, taken once by callers that
    format a million cells.
    """
    if digits == 0:
        return str(minor)
    sign = "-" if minor < 0 else ""
    scale = 10**digits
    whole, fraction = divmod(abs(minor), scale)
    return f"{sign}{whole}.{fraction:0{digits}d}"


@lru_cache(maxsize=64)
def _locale(tag: str | None) -> Locale:
    """Babel's locale for a Shopify tag ("fr", "pt-BR"); English when unknown or malformed."""
    try:
        return Locale.parse((tag or DEFAULT_LOCALE).replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        return Locale.parse(DEFAULT_LOCALE)


@lru_cache(maxsize=4096)
def format_money(minor: int | None, currency: str = "USD", locale: str | None = "en") -> str:
    """Minor units as the locale writes the amount: "$1,234.56", "1 234,56 €", "KWD 1.234".

    Babel does not apply CLDR's currency spacing, so a no-break space is put between a
    currency code and its digits, as browsers' Intl.NumberFormat does. Cached: a table page
    formats a hundred amounts, most of them alike, at 30 µs each through Babel.
    """
    code = currency.upper()
    text = format_currency(from_minor(minor or 0, code), code, locale=_locale(locale))
    return _LETTER_TOUCHING_DIGIT.sub(NO_BREAK_SPACE, text)


@lru_cache(maxsize=256)
def currency_symbol(currency: str, locale: str | None = "en") -> str:
    """The sign a money field shows beside its amount: "$", "€", "CHF"."""
    return get_currency_symbol(currency.upper(), locale=_locale(locale))
