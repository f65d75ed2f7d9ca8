"""Exact money: Shopify's decimal strings to integer minor units, never through float."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

#: ISO 4217 currencies whose minor unit is not 1/100.
MINOR_UNIT_EXPONENTS = {
    "JPY": 0,
    "KRW": 0,
    "VND": 0,
    "CLP": 0,
    "ISK": 0,
    "KWD": 3,
    "BHD": 3,
    "JOD": 3,
    "OMR": 3,
    "TND": 3,
}


def exponent(currency: str) -> int:
    return MINOR_UNIT_EXPONENTS.get(currency.upper(), 2)


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
    return Decimal(minor).scaleb(-exponent(currency))
