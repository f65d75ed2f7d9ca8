"""Cells a spreadsheet opens safely: text that Excel, Sheets or LibreOffice would run as a formula
is prefixed with an apostrophe (OWASP's CSV injection advice)."""

from __future__ import annotations

from typing import Any

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: str) -> str:
    """Make a cell inert in Excel, Sheets and LibreOffice: a leading formula char is quoted."""
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value


def neutralise_cell(value: Any) -> str:
    """Neutralise spreadsheet formulas, but keep numbers such as -50 as they were."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_PREFIXES):
        try:
            float(text)
        except ValueError:
            return "'" + text
    return text
