"""Segments tests send invitations to the same local mail server the referral tests use."""

from tests.referrals.conftest import inbox  # noqa: F401
