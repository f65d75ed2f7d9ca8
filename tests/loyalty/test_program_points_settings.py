"""The Program page's loyalty rules and `flask program show|set`: one form, one validation."""

from __future__ import annotations

import pytest

from shopify_app.platform.extensions import db
from shopify_app.platform.models import ProgramSettings
from shopify_app.program.forms import SettingsForm, parse_event_points
from tests.referrals.test_program_settings import VALID

#: the page's post: each rule's hidden "off", then its checkbox when ticked.
RULES = {
    "earn_orders": ["off", "1"],
    "earn_per_unit": "2",
    "earn_account": ["off"],
    "account_points": "150",
    "earn_referral": ["off", "1"],
    "referrer_points": "1,000",
    "referee_points": "250",
    "earn_events": ["off", "1"],
    "event_points": "review_posted = 50\r\nbirthday=20\r\n",
    "expiry": ["off", "1"],
    "expiry_months": "6",
    "expiry_reminder_days": "30",
}


def _stored(shop) -> ProgramSettings:
    db.session.expire_all()
    return db.session.get(ProgramSettings, shop.id)


def test_the_page_shows_each_rule_off_with_its_value_and_the_shops_currency(admin, shop):
    html = admin.get("/program").get_data(as_text=True)
    assert "Loyalty points" in html and "Points per 1 USD spent" in html
    assert "Points expiry" in html
    for name in ("earn_orders", "earn_account", "earn_referral", "earn_events", "expiry"):
        assert f'<input type="hidden" name="{name}" value="off">' in html
        assert f'id="field-{name}" name="{name}"' in html
    assert 'name="earn_orders" checked' not in html and " checked" not in html
    assert 'value="500"' in html and 'value="12"' in html


def test_saving_the_rules_stores_them_and_unticking_turns_a_rule_off(admin, shop):
    response = admin.post("/program", {**VALID, **RULES})
    assert response.status_code == 302, response.get_data(as_text=True)
    settings = _stored(shop)
    assert (settings.earn_orders, settings.earn_per_unit) == (True, 2)
    assert (settings.earn_account, settings.account_points) == (False, 150)
    assert (settings.referrer_points, settings.referee_points) == (1000, 250)
    assert settings.earn_events and settings.event_points == {"review_posted": 50, "birthday": 20}
    assert (settings.expiry, settings.expiry_months, settings.expiry_reminder_days) == (
        True,
        6,
        30,
    )
    page = admin.get("/program").get_data(as_text=True)
    assert "review_posted = 50\nbirthday = 20" in page and "checked" in page

    admin.post("/program", {**VALID, **RULES, "earn_orders": ["off"], "event_points": ""})
    settings = _stored(shop)
    assert settings.earn_orders is False and settings.event_points is None


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("earn_per_unit", "1.5", "whole number of points from 0 to 1,000,000"),
        ("account_points", "-5", "whole number of points"),
        ("referrer_points", "1000001", "whole number of points"),
        ("referee_points", "", "whole number of points"),
        ("expiry_months", "0", "months from 1 to 120"),
        ("expiry_months", "121", "months from 1 to 120"),
        ("expiry_reminder_days", "91", "days from 0 to 90"),
        ("expiry_months", "1", "fewer days ahead than the expiry period (1 month)"),
        ("event_points", "review_posted 50", "event_name = points"),
        ("event_points", "a = 1\nA = 2", "listed twice"),
        ("event_points", "big = 2000000", "1 to 1,000,000 points"),
        ("earn_orders", ["maybe"], "Choose on or off"),
    ],
)
def test_a_bad_rule_value_is_refused_with_its_message_and_nothing_changes(
    admin, shop, field, value, message
):
    response = admin.post("/program", {**VALID, **RULES, field: value})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Settings were not saved" in html and message in html
    settings = _stored(shop)
    assert (settings.earn_orders, settings.earn_per_unit, settings.expiry) == (False, 1, False)


def test_a_post_without_the_loyalty_fields_leaves_the_rules_as_they_are(shop):
    form = SettingsForm(VALID, currency="USD")
    assert form.validate(), form.errors
    assert form.changes().loyalty == {}


def test_event_lines_may_also_be_separated_by_commas():
    assert parse_event_points("review_posted=50, birthday = 20;") == (
        {"review_posted": 50, "birthday": 20},
        None,
    )


# --- the terminal ----------------------------------------------------------------------------


def _lines(output: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in output.strip().splitlines())


def test_program_show_prints_every_setting_as_key_value(runner, shop):
    result = runner.invoke(args=["program", "show", "--shop", shop.domain])
    assert result.exit_code == 0, result.output
    shown = _lines(result.output)
    assert shown["earn_orders"] == "off" and shown["earn_per_unit"] == "1"
    assert shown["referee_offer_value"] == "10" and shown["reward_value"] == "10.00"
    assert shown["expiry"] == "off" and shown["expiry_months"] == "12"
    assert "\\n" in shown["body_en"]  # one line per setting
    assert {"account_points", "referrer_points", "event_points", "subject_fr"} <= set(shown)


def test_program_set_changes_settings_through_the_pages_validation(runner, shop):
    result = runner.invoke(
        args=[
            "program",
            "set",
            "--shop",
            shop.domain,
            "earn_orders=on",
            "earn_per_unit=3",
            "event_points=review_posted = 50\\nbirthday = 5",
            "reward_value=12.50",
            "body_en=Hi {first_name}\\n{referral_link}",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "earn_per_unit=3" in result.output
    settings = _stored(shop)
    assert (settings.earn_orders, settings.earn_per_unit, settings.reward_value) == (True, 3, 1250)
    assert settings.event_points == {"review_posted": 50, "birthday": 5}
    assert settings.email_body == "Hi {first_name}\n{referral_link}\n"
    shown = _lines(runner.invoke(args=["program", "show", "--shop", shop.domain]).output)
    assert shown["earn_orders"] == "on" and shown["referee_offer_value"] == "10"


@pytest.mark.parametrize(
    ("assignments", "message"),
    [
        (["earn_per_unit=lots"], "earn_per_unit: Enter a whole number of points"),
        (["expiry_reminder_days=400"], "expiry_reminder_days: Enter a whole number of days"),
        (["expiry_months=1", "expiry_reminder_days=28"], "Send the reminder fewer days ahead"),
        (["reward_value=0"], "reward_value: Enter an amount greater than 0"),
        (["earn_orders=sometimes"], "earn_orders: Choose on or off"),
        (["points_per_dollar=2"], "unknown setting 'points_per_dollar'"),
        (["earn_orders"], "is not KEY=VALUE"),
    ],
)
def test_program_set_refuses_bad_input_and_saves_nothing(runner, shop, assignments, message):
    result = runner.invoke(
        args=["program", "set", "--shop", shop.domain, "earn_account=on", *assignments]
    )
    assert result.exit_code != 0
    assert message in result.output
    assert _stored(shop).earn_account is False


def test_program_commands_name_an_unknown_shop(runner, shop):
    result = runner.invoke(args=["program", "show", "--shop", "nowhere.myshopify.com"])
    assert result.exit_code != 0 and "no installed shop" in result.output
