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
