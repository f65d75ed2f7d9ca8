"""A real SMTP server (aiosmtpd) for the test email, as the invitation tests use."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from tests.referrals.conftest import Inbox, serving


@pytest.fixture
def inbox(app: Flask) -> Iterator[Inbox]:
    with serving(app) as handler:
        yield handler
