"""Query helpers every capability shares."""

from __future__ import annotations


def like_escaped(text: str) -> str:
    """`text` matched literally by LIKE/ILIKE with `escape="\\"` (its %, _ and \\ escaped)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
