"""The home page's one form: where "Send me a test email" goes."""

from __future__ import annotations

from wtforms import Field, Form, StringField
from wtforms.validators import ValidationError

from shopify_app.home.test_email import INVALID
from shopify_app.platform import mailer
from shopify_app.platform.forms import MerchantForm, strip


def _usable_address(form: Form, field: Field) -> None:
    try:
        field.data = mailer.checked_address(field.data)
    except mailer.InvalidAddress as error:
        raise ValidationError(INVALID) from error


class TestEmailForm(MerchantForm):
    """The address typed (prefilled with the shop's own), checked as the mailer checks it."""

    __test__ = False

    email = StringField(filters=[strip], validators=[_usable_address])
