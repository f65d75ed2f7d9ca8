"""Integrations with other services a merchant uses (Klaviyo, Mailchimp), one package each."""
