"""The home page's setup guide: each step ticks when its thing really happens, per shop."""

from __future__ import annotations

import re

import pytest

from shopify_app.home.checklist import checklist
from shopify_app.platform.extensions import db
from shopify_app.platform.models import Invitation, Shop
from shopify_app.platform.models.invitation import SENT
from tests.factories import make_customer
from tests.helpers import AdminClient, make_shop, run_jobs


def done(shop: Shop) -> dict[str, bool]:
    db.session.expire_all()
    return {step.key: step.done for step in checklist(db.session.get(Shop, shop.id)).steps}


def summary(admin: AdminClient) -> str:
    html = admin.get("/").get_data(as_text=True)
    return re.search(r"data-guide-summary>([^<]*)<", html)[1]


def import_contacts(runner, shop: Shop, tmp_path) -> None:
    path = tmp_path / f"{shop.handle}.csv"
    path.write_bytes(b"First Name,Last Name,Email\r\nAda,Lovelace,ada@example.com\r\n")
    result = runner.invoke(
        args=["import-contacts", "--shop", shop.domain, "--segment", "Press", str(path)]
    )
    assert result.exit_code == 0, result.output


@pytest.fixture
def other_shop(shop, shopify_double) -> Shop:
    return make_shop(shopify_double, "other-shop.myshopify.com")


@pytest.fixture
def other(other_shop, client, shopify_double) -> AdminClient:
    """The other shop's merchant: nothing they do may tick the first shop's guide."""
    return AdminClient(client, other_shop.domain, shopify_double)


def test_each_step_ticks_when_its_thing_happens_and_only_for_its_shop(
    app, admin, other, other_shop, shop, runner, inbox, tmp_path
):
    import_contacts(runner, other_shop, tmp_path)
    assert other.post("/setup/storefront").status_code == 302
    assert other.post("/setup/test-email", {"email": "x@other.example"}).status_code == 302
    result = runner.invoke(args=["program", "set", "--shop", other_shop.domain, "earn_per_unit=3"])
    assert result.exit_code == 0, result.output
    assert done(other_shop) == dict.fromkeys(done(other_shop), True) | {"sync": False}

    assert done(shop) == dict.fromkeys(
        ["program", "test_email", "sync", "import", "storefront"], False
    )
    assert summary(admin) == "0 of 5 tasks complete"

    result = runner.invoke(args=["program", "set", "--shop", shop.domain, "reward_value=15"])
    assert result.exit_code == 0, result.output
    assert done(shop)["program"] and summary(admin) == "1 of 5 tasks complete"

    response = admin.post("/setup/test-email", {"email": "owner@test-shop.example"})
    assert response.status_code == 302
    assert done(shop)["test_email"] and len(inbox.to("owner@test-shop.example")) == 1

    assert admin.post("/sync").status_code == 302
    assert not done(shop)["sync"]  # queued, not finished
    run_jobs(app)
    assert done(shop)["sync"]

    import_contacts(runner, shop, tmp_path)
    assert done(shop)["import"]

    assert not done(shop)["storefront"]
    assert admin.post("/setup/storefront").status_code == 302
    assert done(shop) == dict.fromkeys(done(shop), True)
    html = admin.get("/").get_data(as_text=True)
    assert "5 of 5 tasks complete" in html and "Setup complete" in html
    assert '<details class="app-guide">' in html  # complete: collapsed, not open


def test_a_fresh_install_guides_to_the_first_step(admin):
    html = admin.get("/").get_data(as_text=True)
    assert '<details class="app-guide" open>' in html
    assert html.count('data-done="no"') == 5
    first = re.search(r'data-step="program".*?</li>', html, re.S)[0]
    assert "p-button p-button--primary" in first and "/program" in first
    storefront = re.search(r'data-step="storefront".*?</li>', html, re.S)[0]
    assert 'href="https://test-shop.myshopify.com/apps/referrals/account"' in storefront
    assert 'target="_blank"' in storefront and "I checked it" in storefront


def test_invitations_already_sent_tick_the_email_step(shop):
    customer = make_customer(shop)
    invitation = Invitation(shop_id=shop.id, customer_id=customer.id, email=customer.email)
    db.session.add(invitation)
    db.session.commit()
    assert not done(shop)["test_email"]  # queued: not sent yet
    invitation.status = SENT
    db.session.commit()
    assert done(shop)["test_email"]


def test_dismissing_the_guide_is_remembered_for_the_shop_alone(admin, other):
    assert admin.post("/setup/guide", {"action": "dismiss"}).status_code == 302
    html = admin.get("/").get_data(as_text=True)
    assert "data-guide-summary" not in html and "Show setup guide" in html
    assert "data-guide-summary" in other.get("/").get_data(as_text=True)
    assert admin.post("/setup/guide", {"action": "show"}).status_code == 302
    assert "data-guide-summary" in admin.get("/").get_data(as_text=True)
