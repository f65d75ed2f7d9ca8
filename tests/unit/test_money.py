"""Money without a database: each currency's own decimals, in the shop's locale, never float."""

from __future__ import annotations

from decimal import Decimal

import pytest

from shopify_app.platform.money import decimal_text, exponent, format_money, from_minor, to_minor

NBSP, NNBSP = "\u00a0", "\u202f"


@pytest.mark.parametrize(
    ("minor", "currency", "locale", "shown"),
    [
        pytest.param(123456, "USD", "en", "$1,234.56", id="USD"),
        pytest.param(123456, "EUR", "fr", f"1{NNBSP}234,56{NBSP}€", id="EUR-fr"),
        pytest.param(1234, "JPY", "en", "¥1,234", id="JPY"),
        pytest.param(1234, "KRW", "en", "₩1,234", id="KRW"),
        pytest.param(1234, "KWD", "en", f"KWD{NBSP}1.234", id="KWD"),
        pytest.param(1234, "BHD", "en", f"BHD{NBSP}1.234", id="BHD"),
        pytest.param(-1234, "USD", "en", "-$12.34", id="USD-negative"),
        pytest.param(-123456, "EUR", "fr", f"-1{NNBSP}234,56{NBSP}€", id="EUR-fr-negative"),
        pytest.param(-1234, "KWD", "en", f"-KWD{NBSP}1.234", id="KWD-negative"),
        pytest.param(-1234, "JPY", "en", "-¥1,234", id="JPY-negative"),
        pytest.param(5, "USD", "en", "$0.05", id="cents"),
        pytest.param(None, "USD", "en", "$0.00", id="none-is-zero"),
    ],
)
def test_format_money_uses_the_currencys_decimals_and_the_locale(minor, currency, locale, shown):
    assert format_money(minor, currency, locale) == shown


@pytest.mark.parametrize(
    ("locale", "shown"),
    [
        ("en-US", "$12.34"),  # Shopify writes locales with a hyphen
        ("fr-CA", f"12,34{NBSP}$"),
        ("xx-unknown", "$12.34"),  # unknown or malformed: English, not an error
        ("", "$12.34"),
        (None, "$12.34"),
    ],
)
def test_format_money_reads_shopify_locale_tags_and_falls_back_to_english(locale, shown):
    currency = "CAD" if locale == "fr-CA" else "USD"
    assert format_money(1234, currency, locale) == shown


@pytest.mark.parametrize(
    ("currency", "digits"),
    [("USD", 2), ("EUR", 2), ("JPY", 0), ("KRW", 0), ("KWD", 3), ("BHD", 3), ("usd", 2)],
)
def test_exponent_is_the_currencys_minor_unit(currency, digits):
    assert exponent(currency) == digits


@pytest.mark.parametrize(
    ("minor", "currency", "text"),
    [
        (1234, "USD", "12.34"),
        (1234, "KWD", "1.234"),
        (1234, "BHD", "1.234"),
        (1234, "JPY", "1234"),
        (1234, "KRW", "1234"),
        (-5, "USD", "-0.05"),
        (-1234, "KWD", "-1.234"),
        (-1234, "KRW", "-1234"),
        (0, "USD", "0.00"),
        (123456789, "USD", "1234567.89"),
    ],
)
def test_decimal_text_is_plain_exact_and_agrees_with_from_minor(minor, currency, text):
    assert decimal_text(minor, exponent(currency)) == text
    assert Decimal(text) == from_minor(minor, currency)


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [("12.34", "USD", 1234), ("1.234", "KWD", 1234), ("1234", "KRW", 1234), ("-0.05", "USD", -5)],
)
def test_to_minor_and_from_minor_round_trip(amount, currency, minor):
    assert to_minor(amount, currency) == minor
    assert from_minor(minor, currency) == Decimal(amount)
