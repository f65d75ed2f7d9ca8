"""`flask --app app import-mailchimp`: an audience into a segment with an API key, in a terminal.

The same fetch and the same contacts import run as from the admin; the key (`…-us6`) names
the data center, and the API is at MAILCHIMP_API_BASE with `{dc}` standing for it.
"""

from __future__ import annotations

import click
from flask import Flask

from shopify_app.imports.cli import confirm_and_run, print_preview, shop_option
from shopify_app.mailchimp.client import MailchimpClient, MailchimpError
from shopify_app.mailchimp.fetching import SKIP_REASONS, NoAudienceChosen, run_fetch, start_fetch
from shopify_app.platform.extensions import db
from shopify_app.platform.models import ImportJob, MailchimpFetch
from shopify_app.platform.models.mailchimp import FETCH_DONE, FETCH_FAILED, FETCH_INTERRUPTED
from shopify_app.segments.store import InvalidSegmentName, get_or_create_segment


def init_app(app: Flask) -> None:
    app.cli.add_command(import_mailchimp)


@click.command("import-mailchimp")
@click.option("--shop", "shop_domain", required=True, help="the shop's myshopify domain")
@click.option(
    "--api-key", required=True, envvar="MAILCHIMP_API_KEY", help="a Mailchimp API key (…-us6)"
)
@click.option("--list", "list_ids", multiple=True, required=True, help="audience id (repeatable)")
@click.option("--segment", "segment_name", required=True, help="static segment (made if new)")
@click.option("--all-or-nothing", is_flag=True, help="import nothing if any row is rejected")
@click.option(
    "--allow-duplicate", is_flag=True, help="import members identical to an earlier import"
)
def import_mailchimp(
    shop_domain: str,
    api_key: str,
    list_ids: tuple[str, ...],
    segment_name: str,
    all_or_nothing: bool,
    allow_duplicate: bool,
) -> None:
    """Read audiences' subscribed members into a segment: preview, then apply."""
    shop = shop_option(shop_domain)
    try:
        client = MailchimpClient.for_api_key(api_key)
        segment = get_or_create_segment(shop, segment_name)
        fetch = start_fetch(shop, client, list(list_ids), segment)
    except (MailchimpError, InvalidSegmentName, NoAudienceChosen) as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from error
    db.session.commit()
    fetch_id = fetch.id
    status = run_fetch(fetch_id, client)
    fetch = db.session.get(MailchimpFetch, fetch_id)
    names = " + ".join(a["name"] for a in fetch.audiences)
    click.echo(f"Mailchimp {names}: {fetch.read:,} subscribed members read")
    for key, count in fetch.skipped.items():
        if count:
            click.echo(f"  {count:,} members {SKIP_REASONS[key]}: not imported")
    if status != FETCH_DONE:
        if status == FETCH_INTERRUPTED:
            # The sweep resumes with the shop's stored connection, not this key: the command
            # owns its read, so it ends here and running it again starts afresh.
            fetch.status = FETCH_FAILED
            db.session.commit()
        raise click.ClickException(fetch.error_message or f"the read stopped ({status})")
    job = db.session.get(ImportJob, fetch.import_id)
    print_preview(job)
    confirm_and_run(shop, job, skip_errors=not all_or_nothing, allow_duplicate=allow_duplicate)
