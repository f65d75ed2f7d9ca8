"""The double the current request is served by."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import current_app

if TYPE_CHECKING:
    from .server import MailchimpDouble


def double() -> MailchimpDouble:
    return current_app.extensions["mailchimp_double"]
