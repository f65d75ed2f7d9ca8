"""The shopper's own page on the storefront (`/proxy/account`): balance, history, rewards, codes."""
