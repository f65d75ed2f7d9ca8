"""The base of the merchant's forms (WTForms): any mapping in, one message per field out."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from werkzeug.datastructures import MultiDict
from wtforms import Form


def strip(value: Any) -> Any:
    """A field filter: what the merchant typed, without surrounding spaces."""
    return value.strip() if isinstance(value, str) else value


class MerchantForm(Form):
    """A form read from `request.form` or a plain dict (the CLI's options, tests)."""

    def __init__(self, formdata: Mapping[str, str]) -> None:
        super().__init__(formdata if isinstance(formdata, MultiDict) else MultiDict(formdata))

    def field_errors(self) -> dict[str, str]:
        """The first message of each field, as the pages show them."""
        return {name: messages[0] for name, messages in self.errors.items() if messages}
