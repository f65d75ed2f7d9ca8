"""Reading server-rendered pages as a merchant (and a browser without JavaScript) does."""

from __future__ import annotations

import html
import re


def text_of(page: str) -> str:
    """The page's words as a merchant reads them: tags dropped, whitespace collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", page)).split())


def button_link(page: str, label: str) -> str:
    """The href of the link styled as a button with this label that asks first."""
    pattern = r'<a class="p-button[^"]*" href="([^"]+)" data-confirm>' + re.escape(label) + "</a>"
    match = re.search(pattern, page)
    assert match, f"no {label!r} link in the page"
    return html.unescape(match.group(1))


def post_form(page: str) -> tuple[str, dict[str, str]]:
    """The first POST form of the page: its action and its hidden fields."""
    form = re.search(r'<form method="post" action="([^"]+)">(.*?)</form>', page, re.S)
    assert form, "no POST form in the page"
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form[2]))
    return html.unescape(form[1]), {k: html.unescape(v) for k, v in fields.items()}
