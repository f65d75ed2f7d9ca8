"""Request body limits, refused from `Content-Length` before a byte of the body is read.

Flask applies `MAX_CONTENT_LENGTH` only when a view first touches the form, which is after the
guards ran (and a guard that looks for a token in the form parses the body first). Checking in
`before_request` answers 413 at once for every route. A chunked body, which has no
`Content-Length`, is cut off at the same limit while it is read (werkzeug's `LimitedStream`).
`POST /webhooks` is answered in front of Flask and bounds its body itself (`webhooks`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, current_app, render_template, request
from werkzeug.exceptions import RequestEntityTooLarge

from shopify_app.platform.negotiation import wants_json

F = TypeVar("F", bound=Callable[..., Any])
#: room for the multipart envelope and the upload form's other fields around the file itself.
UPLOAD_ENVELOPE_BYTES = 64 * 1024


def accepts_upload(view: F) -> F:
    """Mark a view that takes a CSV file: its body may be up to `MAX_UPLOAD_BYTES`."""
    view.accepts_upload = True  # type: ignore[attr-defined]
    return view


def _is_upload() -> bool:
    view = current_app.view_functions.get(request.endpoint or "")
    return bool(getattr(view, "accepts_upload", False))


def body_limit() -> int:
    """The largest body the current request's view accepts, in bytes."""
    if _is_upload():
        return current_app.config["MAX_UPLOAD_BYTES"] + UPLOAD_ENVELOPE_BYTES
    return current_app.config["MAX_FORM_BYTES"]


def refuse_oversized_body() -> None:
    """Raise 413 when the declared body is over the view's limit; bound an undeclared one."""
    limit = body_limit()
    request.max_content_length = limit
    if request.content_length is not None and request.content_length > limit:
        raise RequestEntityTooLarge()


def megabytes(size: int) -> str:
    """A limit as merchants read it: 100 MB, 1 MB, 0.5 MB."""
    value = size / (1024 * 1024)
    return f"{value:.0f} MB" if value >= 1 and value == int(value) else f"{value:.1f} MB"


def _too_large(error: RequestEntityTooLarge):
    """A clear 413: JSON for fetch calls, a page naming the limit for documents."""
    upload = _is_upload()
    limit = current_app.config["MAX_UPLOAD_BYTES"] if upload else body_limit()
    if upload:
        message = (
            f"The file is larger than the {megabytes(limit)} limit. "
            "Split it into smaller files and upload each one."
        )
    else:
        message = f"This request is larger than the {megabytes(limit)} the app accepts."
    if wants_json():
        return {"error": "payload too large", "detail": message, "limit_bytes": limit}, 413
    title = "File too large" if upload else "Request too large"
    return render_template("errors/error.html", title=title, message=message), 413


def init_app(app: Flask) -> None:
    if app.config.get("MAX_CONTENT_LENGTH") is None:  # Flask's default; a config mapping wins
        app.config["MAX_CONTENT_LENGTH"] = app.config["MAX_FORM_BYTES"]
    app.before_request(refuse_oversized_body)
    app.register_error_handler(RequestEntityTooLarge, _too_large)
    app.jinja_env.globals["megabytes"] = megabytes  # the import page states its limit
