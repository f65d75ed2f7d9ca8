"""A faithful local Mailchimp (OAuth 2 and Marketing API 3.0) for tests and the demo."""

from .server import MailchimpDouble

__all__ = ["MailchimpDouble"]
