"""Mailchimp's boundaries: other shops, the erasure webhooks, the sweep, the command line."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from shopify_app.mailchimp.runs import sweep
from shopify_app.platform.extensions import db
from shopify_app.platform.models import (
    Customer,
    ImportJob,
    MailchimpConnection,
    MailchimpFetch,
    Segment,
)
from shopify_app.platform.models.base import utcnow
from tests.csv_imports.importing import confirm, count, get_import
from tests.helpers import AdminClient, deliver, make_shop, run_jobs
from tests.mailchimp.mailchimping import (
    LOGIN,
    add_account,
    connect,
    connection,
    get_fetch,
    members_of,
    start_read,
)


def _audience(double, emails: list[str]) -> str:
    list_id = double.add_audience(LOGIN, "List")
    double.add_members(LOGIN, list_id, [{"email_address": e, "first_name": "F"} for e in emails])
    return list_id


def test_another_shop_cannot_see_or_use_the_connection_or_its_reads(
    app, client, admin, shop, shopify_double, mailchimp_double
):
    add_account(mailchimp_double)
    connect(admin, mailchimp_double)
    list_id = _audience(mailchimp_double, ["a@example.com"])
    fetch_id = start_read(admin, [list_id])
    run_jobs(app)
    import_id = get_fetch(fetch_id).import_id

    other = make_shop(shopify_double, "other-shop.myshopify.com")
    intruder = AdminClient(client, other.domain, shopify_double)
    page = intruder.get("/imports").get_data(as_text=True)
    assert "Connect Mailchimp" in page and "Acme Inc" not in page
    assert intruder.get(f"/mailchimp/fetches/{fetch_id}").status_code == 404
    assert (
        intruder.get(f"/mailchimp/fetches/{fetch_id}/progress.json", fetch=True).status_code == 404
    )
    assert intruder.get(f"/imports/{import_id}").status_code == 404
    refused = intruder.post("/mailchimp/fetches", {"audiences": [list_id], "new_segment": "X"})
    assert refused.status_code == 302
    assert count(MailchimpFetch) == 1  # the other shop has no connection to read with
    intruder.post("/mailchimp/disconnect")
    assert connection(shop) is not None


def test_customers_redact_erases_the_person_from_a_previewed_mailchimp_import(
    app, client, admin, shop, shopify_double, mailchimp_double
):
    d = shopify_double
    zelda = d.add_customer(shop.domain, first_name="Zelda", email="zelda@example.com")
    deliver(client, d, "customers/create", shop.domain, d.customer_payload(shop.domain, zelda))
    run_jobs(app)
    add_account(mailchimp_double)
    connect(admin, mailchimp_double)
    list_id = _audience(mailchimp_double, ["zelda@example.com", "otto@example.com"])
    fetch_id = start_read(admin, [list_id])
    run_jobs(app)
    job = get_import(get_fetch(fetch_id).import_id)
    staged = Path(get_fetch(fetch_id).staging_path)
    assert not staged.exists()  # the staged copy went once the import had its own
    assert b"zelda@example.com" in Path(job.file_path).read_bytes()

    payload = d.compliance_payload("customers/redact", shop.domain, zelda)
    deliver(client, d, "customers/redact", shop.domain, payload)
    run_jobs(app)
    assert b"zelda" not in Path(job.file_path).read_bytes()
    confirm(admin, job.id)
    run_jobs(app)
    assert members_of("Mailchimp") == ["otto@example.com"]


def test_shop_redact_removes_the_connection_and_the_reads(
    app, client, admin, shop, shopify_double, mailchimp_double
):
    d = shopify_double
    add_account(mailchimp_double)
    connect(admin, mailchimp_double)
    fetch_id = start_read(admin, [_audience(mailchimp_double, ["a@example.com"])])
    run_jobs(app)
    assert get_fetch(fetch_id).status == "done"
    deliver(client, d, "app/uninstalled", shop.domain, d.shop_payload(shop.domain))
    run_jobs(app)
    assert count(MailchimpConnection) == 0
    deliver(client, d, "shop/redact", shop.domain, d.compliance_payload("shop/redact", shop.domain))
    run_jobs(app)
    assert count(MailchimpFetch) == 0 and count(ImportJob) == 0


def test_the_sweep_resumes_an_interrupted_read(app, admin, shop, mailchimp_double):
    add_account(mailchimp_double)
    connect(admin, mailchimp_double)
    fetch_id = start_read(admin, [_audience(mailchimp_double, ["a@example.com"])])
    fetch = get_fetch(fetch_id)
    fetch.status, fetch.heartbeat_at = "interrupted", utcnow()
    db.session.commit()
    with app.app_context():
        assert sweep() == 1
    run_jobs(app)
    assert get_fetch(fetch_id).status == "done"
    with app.app_context():
        assert sweep() == 0


def test_import_mailchimp_with_an_api_key_previews_then_applies(runner, shop, mailchimp_double):
    key = add_account(mailchimp_double, dc="us6")
    list_id = mailchimp_double.add_audience(LOGIN, "Newsletter")
    mailchimp_double.add_members(
        LOGIN,
        list_id,
        [
            {"email_address": "ada@example.com", "first_name": "Ada"},
            {"email_address": "", "first_name": "Nobody"},
            {"email_address": "gone@example.com", "status": "unsubscribed"},
        ],
    )
    args = [
        "import-mailchimp",
        "--shop",
        shop.domain,
        "--api-key",
        key,
        "--list",
        list_id,
        "--segment",
        "News",
    ]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    assert "2 subscribed members read" in result.output
    assert "1 members unsubscribed: not imported" in result.output
    assert "1 members without an email address: not imported" in result.output
    assert "1 new contacts" in result.output and "1 added to the segment" in result.output
    assert "done: 1 rows applied" in result.output
    assert members_of("News") == ["ada@example.com"]
    db.session.expire_all()
    assert db.session.scalar(select(Customer.first_name)) == "Ada"


def test_import_mailchimp_refuses_a_bad_key_or_list_and_changes_nothing(
    runner, shop, mailchimp_double
):
    key = add_account(mailchimp_double, dc="us6")
    wrong_dc = key.rsplit("-", 1)[0] + "-us1"
    for api_key, list_id, message in (
        ("nodatacenter", "x", "That is not a Mailchimp API key"),
        (wrong_dc, "x", "does not accept this API key"),
        (key, "missing", "could not be found"),
    ):
        result = runner.invoke(
            args=[
                "import-mailchimp",
                "--shop",
                shop.domain,
                "--api-key",
                api_key,
                "--list",
                list_id,
                "--segment",
                "News",
            ]
        )
        assert result.exit_code == 1, result.output
        assert message in result.output
        assert "Traceback" not in result.output
    assert count(MailchimpFetch) == 0 and count(Segment) == 0
