"""Program settings: working defaults, validated edits, and joining with a unique code."""

from __future__ import annotations

import re

import pytest

from shopify_app.platform.extensions import db
from shopify_app.platform.models import Customer, ProgramSettings
from shopify_app.program import config as program
from tests.factories import CONTACT, make_contact, make_customers

VALID = {
    "referee_offer_type": "fixed_amount",
    "referee_offer_value": "7.50",
    "reward_type": "percentage",
    "reward_value": "15",
    "min_order": "25",
    "subject_en": "Hello {first_name}",
    "body_en": "Use {referral_link} for {referee_offer}.",
    "subject_fr": "Bonjour {first_name}",
    "body_fr": "Utilisez {referral_link}.",
}


def test_defaults_work_right_after_install(admin, shop):
    page = admin.get("/program")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'value="10"' in html and 'value="10.00"' in html
    assert "invites you to refer a friend" in html and "vous invite" in html
    settings = db.session.get(ProgramSettings, shop.id)
    assert (settings.referee_offer_type, settings.referee_offer_value) == ("percentage", 10)
    assert (settings.reward_type, settings.reward_value) == ("fixed_amount", 1000)


def test_valid_settings_are_saved(admin, shop):
    response = admin.post("/program", VALID)
    assert response.status_code == 302
    db.session.expire_all()
    settings = db.session.get(ProgramSettings, shop.id)
    assert (settings.referee_offer_type, settings.referee_offer_value) == ("fixed_amount", 750)
    assert (settings.reward_type, settings.reward_value) == ("percentage", 15)
    assert settings.min_order_minor == 2500
    assert settings.email_subject == "Hello {first_name}"
    assert settings.email_translations == {
        "fr": {"subject": "Bonjour {first_name}", "body": "Utilisez {referral_link}.\n"}
    }
    assert program.email_copy(shop, settings, "fr")[0] == "Bonjour {first_name}"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("reward_value", "150", "between 1 and 100"),
        ("reward_value", "abc", "whole percentage"),
        ("referee_offer_value", "1.234", "greater than 0"),
        ("min_order", "-5", "0 or more"),
        ("body_en", "Hi {name.__class__}", "Unknown placeholder"),
        ("subject_fr", "   ", "can&#39;t be blank"),
        ("referee_offer_type", "free_lunch", "percentage or a fixed amount"),
    ],
)
def test_bad_settings_get_a_message_and_change_nothing(admin, shop, field, value, message):
    response = admin.post("/program", {**VALID, field: value})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message in html and "Settings were not saved" in html
    if field != "referee_offer_type":
        assert value.strip() in html  # what was typed is kept for correcting
    db.session.expire_all()
    settings = db.session.get(ProgramSettings, shop.id)
    assert (settings.referee_offer_type, settings.referee_offer_value) == ("percentage", 10)


def test_placeholders_are_filled_without_str_format():
    values = {"first_name": "Ann"}
    assert program.fill_placeholders("Hi {first_name} {x.__class__} {}", values) == (
        "Hi Ann {x.__class__} {}"
    )


def test_join_gives_a_unique_human_friendly_code_once(ctx, shop):
    customers = [
        make_contact(shop, f"{n}@example.com", first_name=name)
        for n, name in enumerate(["Zoë", "Zoë", "", "O'Brien"])
    ]
    db.session.add_all(customers)
    db.session.flush()
    codes = [program.join_program(shop, c).referral_code for c in customers]
    db.session.commit()
    assert len(set(codes)) == 4
    assert all(re.fullmatch(r"[A-Z]{1,8}-[2-9A-HJ-NP-Z]{7}", code) for code in codes)
    assert codes[0].startswith("ZOE-") and codes[2].startswith("2-") is False
    first = customers[0]
    assert program.join_program(shop, first).referral_code == codes[0]
    assert program.join_customers(shop, [c.id for c in customers]) == 0


def test_join_customers_joins_many_in_bulk(ctx, shop):
    contacts = [
        {**CONTACT, "email": f"p{n}@example.com", "first_name": f"P{n}"} for n in range(1200)
    ]
    make_customers(shop, contacts)
    db.session.commit()
    ids = [c.id for c in db.session.query(Customer).filter_by(shop_id=shop.id)]
    assert program.join_customers(shop, ids) == 1200
    db.session.commit()
    codes = {c.referral_code for c in db.session.query(Customer)}
    assert len(codes) == 1200 and None not in codes


def _affixes(page: str, name: str) -> list[tuple[str, bool]]:
    """The units shown inside field `name`: (text, visible) for each prefix and suffix."""
    field = page.split(f'id="field-{name}"')[0].rsplit('<div class="p-input-affix">', 1)[1]
    field += page.split(f'id="field-{name}"')[1].split("</div>", 1)[0]
    return [
        (text, "hidden" not in attrs)
        for attrs, text in re.findall(
            r'<span class="p-input-affix__\w+"([^>]*)>([^<]*)</span>', field
        )
    ]


def test_fields_show_their_units_and_the_unit_follows_the_offer_type(admin, shop):
    page = admin.get("/program").get_data(as_text=True)
    # Defaults: the friend's offer is a percentage, the referrer's reward an amount.
    assert _affixes(page, "referee_offer_value") == [("$", False), ("%", True)]
    assert _affixes(page, "reward_value") == [("$", True), ("%", False)]
    assert _affixes(page, "min_order") == [("$", True)]
    assert _affixes(page, "referrer_points") == [("points", True)]
    assert _affixes(page, "expiry_months") == [("months", True)]
    assert 'data-unit-of="referee_offer_type" data-unit="percentage"' in page


def test_a_euro_shop_sees_the_euro_sign(admin, shop):
    shop.currency = "EUR"
    db.session.commit()
    page = admin.get("/program").get_data(as_text=True)
    assert _affixes(page, "min_order") == [("€", True)]


def test_the_settings_form_asks_for_the_contextual_save_bar(admin, shop):
    page = admin.get("/program").get_data(as_text=True)
    form = page.split('id="program-settings"')[1].split(">", 1)[0]
    assert "data-save-bar" in form and "data-discard-confirmation" in form
    assert 'data-save-bar-for="program-settings" hidden' in page and "Unsaved changes" in page


def test_the_email_card_offers_a_test_email(admin, shop):
    page = admin.get("/program").get_data(as_text=True)
    link = page.split("data-test-email-link")[0].rsplit("<a ", 1)[1]
    assert 'href="/setup/test-email?' in link and "Send me a test email" in page
