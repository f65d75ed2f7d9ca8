"""The audience picker (WTForms): one or more audiences and the segment they go into."""

from __future__ import annotations

from wtforms import SelectMultipleField, StringField

from shopify_app.platform.forms import MerchantForm, strip


class FetchForm(MerchantForm):
    """Audience ids (Mailchimp checks they are the account's), and a segment: an id, or
    "new" with a name."""

    audiences = SelectMultipleField(choices=[], validate_choice=False)
    segment_id = StringField(filters=[strip], default="new")
    new_segment = StringField(filters=[strip])

    def validate_audiences(self, field: SelectMultipleField) -> None:
        if not [value for value in field.data or [] if value.strip()]:
            raise ValueError("Choose at least one audience.")
