"""Whether a request is a fetch that wants JSON back, or a page load that wants a page."""

from __future__ import annotations

from flask import request


def wants_json() -> bool:
    """True for fetch/XHR calls, which get JSON errors instead of pages."""
    if request.headers.get("Authorization"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"
