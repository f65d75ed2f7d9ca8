"""The platform beneath the capabilities: settings, extensions, models, auth, the Shopify client.

Nothing here imports a capability (imports, customers, referrals, …); the import-linter
contracts in pyproject.toml keep it so.
"""
