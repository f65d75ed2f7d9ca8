"""A faithful local Shopify (OAuth, GraphQL Admin API with cost throttling, signed webhooks,
app proxy signatures, session tokens) for tests and the demo; Shopify itself is never reached."""

from .server import ShopifyDouble

__all__ = ["ShopifyDouble"]
