"""RQ entry points of the Mailchimp import, by dotted path: each opens the job's context."""

from __future__ import annotations

from shopify_app.mailchimp import fetching, runs
from shopify_app.platform.models import MailchimpFetch
from shopify_app.platform.queue import job_app_context


def fetch_audiences(fetch_id: int) -> str:
    """Read the fetch's audiences from where it stopped, then preview them as an import."""
    with job_app_context(owner=(MailchimpFetch, fetch_id)):
        return fetching.run_fetch(fetch_id)


def sweep_fetches() -> int:
    """Resume fetches left interrupted (Mailchimp down) or by a dead worker."""
    with job_app_context():
        return runs.sweep()
