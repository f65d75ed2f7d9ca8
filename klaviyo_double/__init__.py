"""A local Klaviyo API double for tests, the bench and the demo; imports nothing of the app."""

from .server import KlaviyoDouble
from .state import ALL_SCOPES, DEMO_KEY

__all__ = ["ALL_SCOPES", "DEMO_KEY", "KlaviyoDouble"]
