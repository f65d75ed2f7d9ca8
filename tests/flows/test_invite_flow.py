"""Invitations as the merchant clicks them: tick customers in the table, review the invite
dialog, send, watch the batch, and the emails arrive in the mail sink with their links."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.factories import make_contact
from tests.helpers import make_shop
from tests.referrals.conftest import LINK_RE

pytestmark = [pytest.mark.browser, pytest.mark.slow]
PEOPLE = [("Ada", "Lovelace"), ("Grace", "Hopper"), ("Alan", "Turing"), ("Kofi", "Mensah")]


def test_select_customers_invite_dialog_batch_progress_and_the_email(
    ctx, shop, shopify_double, mail_sink, workers, admin_browser, steps
):
    people = [
        make_contact(shop, f"{first.lower()}@example.com", first_name=first, last_name=last)
        for first, last in PEOPLE
    ]
    other = make_shop(shopify_double, "other-shop.myshopify.com")
    make_contact(other, "stranger@example.com", first_name="Stranger")
    ctx.extensions["sqlalchemy"].session.commit()
    chosen = people[:3]
    shots = steps("invite")
    page = admin_browser.open("/customers")

    table = page.locator("[data-bulk-table]")
    expect(table.locator("tbody tr")).to_have_count(len(PEOPLE))  # no other shop's customer
    for person in chosen:
        page.get_by_label(f"Select {person.display_name}").check()
    expect(page.locator("[data-bulk-count]")).to_have_text("3 selected")
    shots.shot(page, "selected")

    page.get_by_role("button", name="Invite", exact=True).click()
    dialog = page.get_by_role("dialog", name="Send invitation")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Will be invited: 3")
    for person in chosen:
        expect(dialog.locator("[data-invitees]")).to_contain_text(person.email)
    expect(dialog.locator("[data-invitees]")).not_to_contain_text(people[3].email)
    shots.shot(page, "invite-dialog")

    dialog.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_role("progressbar")).to_be_visible()
    expect(page.locator("[data-progress-count=sent]")).to_have_text("0")
    # While it prepares, the bar says so once, not again in the line under it.
    preparing = page.get_by_text("Preparing the invitations…", exact=True)
    expect(preparing.filter(visible=True)).to_have_count(1)
    shots.shot(page, "batch-queued")

    workers.start()  # the batch waits in the queue until a worker is up
    expect(page.get_by_text("All 3 invitations sent")).to_be_visible(timeout=60_000)
    expect(page.locator("[data-sent]")).to_have_text("3")
    expect(page.locator("[data-progress-count=total]")).to_have_text("3")
    shots.shot(page, "batch-sent")

    for person in chosen:
        (message,) = mail_sink.to(person.email)
        text = message.get_body(preferencelist=("plain",)).get_content()
        assert person.first_name in text and LINK_RE.search(text), text
    assert mail_sink.to(people[3].email) == [] and mail_sink.to("stranger@example.com") == []
    html = mail_sink.to(chosen[0].email)[0].get_body(preferencelist=("html", "plain"))
    page.set_content(html.get_content())
    shots.shot(page, "email")
    assert admin_browser.console_errors == []
