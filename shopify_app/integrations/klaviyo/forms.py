"""The Program page's Klaviyo forms: the private key pasted, and who sends the invitations."""

from __future__ import annotations

import re

from wtforms import SelectField, StringField
from wtforms.validators import InputRequired, ValidationError

from shopify_app.platform.forms import MerchantForm, strip

#: a private key: `pk_` and its secret (Klaviyo's are 34 characters after the prefix).
PRIVATE_KEY = re.compile(r"pk_[A-Za-z0-9_]{8,120}")
#: a public key (site id) is six characters: a common paste by mistake.
PUBLIC_KEY = re.compile(r"[A-Za-z0-9]{6}")
APP, KLAVIYO = "app", "klaviyo"


class KeyForm(MerchantForm):
    api_key = StringField(
        filters=[strip], validators=[InputRequired("Paste your Klaviyo private API key.")]
    )

    def validate_api_key(self, field: StringField) -> None:
        value = field.data or ""
        if PUBLIC_KEY.fullmatch(value):
            raise ValidationError(
                "That looks like your public key (site ID). Paste a private API key: it "
                "starts with pk_."
            )
        if not PRIVATE_KEY.fullmatch(value):
            raise ValidationError(
                "A Klaviyo private API key starts with pk_ (in Klaviyo: Settings → API keys)."
            )


class SenderForm(MerchantForm):
    invitations_by = SelectField(
        choices=[(APP, "This app"), (KLAVIYO, "A Klaviyo flow")],
        validators=[InputRequired("Choose who sends the invitations.")],
        validate_choice=True,
    )
