"""The Program form reads amounts in the shop's currency and refuses unknown placeholders."""

from __future__ import annotations

import pytest

from shopify_app.platform.shopify.discounts import FIXED_AMOUNT, PERCENTAGE
from shopify_app.program.forms import SettingsForm

VALID = {
    "referee_offer_type": PERCENTAGE,
    "referee_offer_value": "15",
    "reward_type": FIXED_AMOUNT,
    "reward_value": "10.5",
    "min_order": "",
    "subject_en": "  Hi from {shop_name}  ",
    "body_en": "Hello {first_name},\r\n{referral_link}\r\n",
    "subject_fr": "Bonjour",
    "body_fr": "Votre lien : {referral_link}",
}


def form(currency: str = "USD", **changes: str) -> SettingsForm:
    return SettingsForm({**VALID, **changes}, currency=currency)


def test_a_valid_form_gives_stored_units():
    settings = form()
    assert settings.validate(), settings.errors
    changes = settings.changes()
    assert (changes.referee_offer.kind, changes.referee_offer.value) == (PERCENTAGE, 15)
    assert (changes.reward.kind, changes.reward.value) == (FIXED_AMOUNT, 1050)
    assert changes.min_order_minor == 0
    assert changes.copies["en"] == ("Hi from {shop_name}", "Hello {first_name},\n{referral_link}\n")


@pytest.mark.parametrize(
    ("currency", "typed", "minor"),
    [("KWD", "1.250", 1250), ("JPY", "500", 500), ("EUR", "7,5", 750)],
)
def test_amounts_follow_the_currencys_decimals(currency, typed, minor):
    settings = form(currency, reward_value=typed)
    assert settings.validate(), settings.errors
    assert settings.changes().reward.value == minor


@pytest.mark.parametrize(
    ("currency", "changes", "field", "message"),
    [
        ("JPY", {"reward_value": "5.5"}, "reward_value", "greater than 0 in JPY"),
        ("KWD", {"min_order": "1.2345"}, "min_order", "0 or more in KWD"),
        ("USD", {"referee_offer_value": "101"}, "referee_offer_value", "between 1 and 100"),
        ("USD", {"reward_type": "points"}, "reward_value", "percentage or a fixed amount"),
        ("USD", {"body_fr": "{name.__class__}"}, "body_fr", "Unknown placeholder"),
        ("USD", {"subject_en": "   "}, "subject_en", "can't be blank"),
    ],
)
def test_bad_values_get_a_message_on_their_field(currency, changes, field, message):
    settings = form(currency, **changes)
    assert not settings.validate()
    errors = settings.field_errors()
    assert list(errors) == [field]
    assert message in errors[field]
    assert settings.shown().reward_value == changes.get("reward_value", "10.5")
