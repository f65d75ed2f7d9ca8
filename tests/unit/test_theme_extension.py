"""The theme app extension is laid out as the Shopify CLI expects and links to the proxy page."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).parents[2]
EXTENSION = ROOT / "extensions" / "loyalty-account"


def test_the_extension_is_a_theme_extension_with_a_block_and_locales():
    config = tomllib.loads((EXTENSION / "shopify.extension.toml").read_text())
    assert config["type"] == "theme" and config["name"]
    assert json.loads((EXTENSION / "locales" / "en.default.json").read_text())["loyalty"]


def test_the_block_schema_parses_and_links_to_the_app_proxy_account_page():
    block = (EXTENSION / "blocks" / "account_link.liquid").read_text()
    schema = json.loads(re.search(r"{% schema %}(.*){% endschema %}", block, re.S).group(1))
    assert schema["target"] == "section" and schema["settings"]
    proxy = tomllib.loads((ROOT / "shopify.app.toml").read_text())["app_proxy"]
    assert f"'/{proxy['prefix']}/{proxy['subpath']}/account'" in block
    assert proxy["url"].endswith("/proxy")  # the page is served at /proxy/account
