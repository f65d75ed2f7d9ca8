""" "Send me a test email": the real invitation over SMTP (aiosmtpd), marked as a test."""

from __future__ import annotations

import re

from shopify_app.home.checklist import checklist
from shopify_app.platform.extensions import db
from shopify_app.platform.models import Customer, Shop
from tests.helpers import AdminClient, make_shop, run_jobs
from tests.ports import free_port


def email_step_done(shop: Shop) -> bool:
    db.session.expire_all()
    steps = checklist(db.session.get(Shop, shop.id)).steps
    return next(step.done for step in steps if step.key == "test_email")


def test_the_test_invitation_arrives_marked_in_the_shops_language(
    client, shopify_double, inbox, ctx
):
    shop = make_shop(shopify_double, "boutique.myshopify.com")
    shop.name, shop.locale = "La Boutique", "fr"
    db.session.commit()
    admin = AdminClient(client, shop.domain, shopify_double)
    response = admin.post("/setup/test-email", {"email": " Owner@Boutique.example "})
    assert response.status_code == 302
    page = admin.get("/").get_data(as_text=True)
    assert "Test email sent to Owner@Boutique.example. Check your inbox." in page
    (message,) = inbox.to("owner@boutique.example")
    assert inbox.envelopes == [["Owner@Boutique.example"]]
    assert message["Subject"] == "[Test] La Boutique vous invite à parrainer vos amis"
    assert message["Content-Language"] == "fr"
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    assert text.startswith("Ceci est un test de votre e-mail d'invitation.")
    assert "Ceci est un test" in html and "Bonjour à vous" in text
    assert "https://boutique.myshopify.com/apps/referrals/r/OWNER-XXXXXXX" in text
    assert email_step_done(shop)
    assert db.session.query(Customer).count() == 0  # the sample customer is never stored


def test_the_page_previews_the_email_and_offers_the_shops_own_address(
    admin, shop, shopify_double, app
):
    assert admin.post("/sync").status_code == 302
    run_jobs(app)  # the sync reads the shop's email from Shopify's shop query
    db.session.expire_all()
    owner = shopify_double.shop(shop.domain)["email"]
    assert owner and db.session.get(Shop, shop.id).email == owner
    html = admin.get("/setup/test-email").get_data(as_text=True)
    assert f'value="{owner}"' in html
    assert "<strong>Subject:</strong> [Test] " in html and "srcdoc=" in html
    assert "This is a test of your invitation email." in html


def test_a_mail_server_that_is_down_is_explained_and_ticks_nothing(admin, shop, app):
    previous = app.config["SMTP_URL"]
    app.config["SMTP_URL"] = f"smtp://127.0.0.1:{free_port()}"  # nothing listens there
    try:
        response = admin.post("/setup/test-email", {"email": "me@shop.example"})
    finally:
        app.config["SMTP_URL"] = previous
    assert response.status_code == 502
    html = response.get_data(as_text=True)
    assert "The test email was not sent" in html
    assert "The mail server could not be reached, so nothing was sent." in html
    assert 'value="me@shop.example"' in html  # what was typed is kept
    assert "Errno" not in html and "Traceback" not in html
    assert not email_step_done(shop)


def test_a_refused_recipient_is_quoted_and_ticks_nothing(admin, shop, inbox):
    inbox.refusals["nobody@shop.example"] = ["550 5.1.1 No such user"]
    response = admin.post("/setup/test-email", {"email": "nobody@shop.example"})
    assert response.status_code == 502
    assert "The recipient&#39;s address was refused (550 5.1.1 No such user)" in (
        response.get_data(as_text=True)
    )
    assert inbox.messages == [] and not email_step_done(shop)


def test_an_unusable_address_is_refused_before_anything_is_sent(admin, shop, inbox):
    for typed in ("", "not-an-address", "a@b", "x@y.example\r\nBcc: all@y.example"):
        response = admin.post("/setup/test-email", {"email": typed})
        assert response.status_code == 400, typed
        assert "Enter an email address like you@example.com." in response.get_data(as_text=True)
    assert inbox.messages == [] and not email_step_done(shop)


def test_test_emails_are_limited_per_shop_and_hour(admin, shop, inbox, app, shopify_double, client):
    previous = app.config["TEST_EMAILS_PER_HOUR"]
    app.config["TEST_EMAILS_PER_HOUR"] = 2
    try:
        for n in range(2):
            assert (
                admin.post("/setup/test-email", {"email": f"me{n}@shop.example"}).status_code == 302
            )
        refused = admin.post("/setup/test-email", {"email": "me3@shop.example"})
        other = make_shop(shopify_double, "other-shop.myshopify.com")
        theirs = AdminClient(client, other.domain, shopify_double)
        assert theirs.post("/setup/test-email", {"email": "them@other.example"}).status_code == 302
    finally:
        app.config["TEST_EMAILS_PER_HOUR"] = previous
    assert refused.status_code == 502
    html = refused.get_data(as_text=True)
    assert re.search(
        r"You sent 2 test emails in the last hour\. Try again after \d\d:\d\d \(UTC\)\.", html
    )
    assert len(inbox.messages) == 3 and not inbox.to("me3@shop.example")
