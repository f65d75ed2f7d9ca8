"""The Segments pages in headless Chromium: the list, a segment's members, and the editor's
live count arriving from count.json as the page's script asks for it."""

from __future__ import annotations

import re

import pytest

from shopify_app.platform.auth.demo_tokens import DEMO_SHOP
from shopify_app.platform.extensions import db
from shopify_app.platform.models import Customer, Segment, Shop
from shopify_app.platform.models.segment import DYNAMIC
from tests.admin.test_pages_browser import _page, demo_url, showcase  # noqa: F401

pytestmark = pytest.mark.browser


@pytest.fixture
def segment(showcase):  # noqa: F811
    shop = db.session.execute(db.select(Shop).where(Shop.domain == DEMO_SHOP)).scalar_one()
    members = db.session.execute(
        db.select(db.func.count())
        .select_from(Customer)
        .where(Customer.shop_id == shop.id, Customer.is_member.is_(True))
    ).scalar_one()
    made = Segment(
        shop_id=shop.id, name="Members", kind=DYNAMIC, rules=[{"field": "status", "op": "members"}]
    )
    db.session.add(made)
    db.session.commit()
    return made.id, members


def test_segments_pages_and_the_live_count_in_chromium(demo_url, segment, artifacts):  # noqa: F811
    segment_id, members = segment
    listing = _page(f"{demo_url}/segments?shop={DEMO_SHOP}", artifacts / "segments.png")
    assert "Members" in listing and "Dynamic" in listing
    assert re.search(rf"data-members[^>]*>\s*{members:,}\s*<", listing)  # counted after render
    page = _page(
        f"{demo_url}/segments/{segment_id}?shop={DEMO_SHOP}", artifacts / "segment-page.png"
    )
    assert "Target this segment" in page and 'data-bulk-row=""' in page
    editor = _page(
        f"{demo_url}/segments/{segment_id}/edit?shop={DEMO_SHOP}", artifacts / "segment-editor.png"
    )
    assert f"{members:,} customers match" in editor
