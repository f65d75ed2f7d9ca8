"""Contacts imports: matched by normalised email, created as Guests, added to a static segment."""

from __future__ import annotations

import codecs
import html
import re

from sqlalchemy import select

from shopify_app.imports.contacts_rows import normalize_locale
from shopify_app.platform.extensions import db
from shopify_app.platform.models import Customer, Invitation, Segment, SegmentMember
from shopify_app.platform.models.base import utcnow
from tests.csv_imports.importing import confirm, count, get_import, row_errors, upload, upload_ok
from tests.factories import make_customer
from tests.helpers import run_jobs

HEADER = "First Name;Last Name;Email;Locale;Source;Birthday\r\n"


def _contacts(shop) -> dict[str, Customer]:
    db.session.expire_all()
    rows = db.session.execute(select(Customer).where(Customer.shop_id == shop.id)).scalars()
    return {c.email_key: c for c in rows}


def _members(segment_name: str) -> set[str]:
    return set(
        db.session.execute(
            select(Customer.email_key)
            .join(SegmentMember, SegmentMember.customer_id == Customer.id)
            .join(Segment, Segment.id == SegmentMember.segment_id)
            .where(Segment.name == segment_name)
        ).scalars()
    )


def _existing(shop, email: str, **fields) -> Customer:
    """A Member already in the store, with a stored attribute an import must not lose."""
    defaults = {"shopify_id": None, "first_name": "Old", "last_name": "Name", "locale": "en"}
    customer = make_customer(
        shop, email=email, attributes={"Kept": "yes"}, **{**defaults, **fields}
    )
    db.session.commit()
    return customer


FILE = (
    codecs.BOM_UTF8
    + (
        HEADER
        + "Zoë;Martin;zoe@example.com;fr;Trade show;1990-01-01\r\n"
        + "Existing;Person;  KNOWN@Example.com ;de-at;Newsletter;\r\n"
        + "Bad;Email;not-an-email;en;;\r\n"
        + "Bad;Locale;locale@example.com;klingon;;\r\n"
        + "Gone;Away;gone@example.com;;;\r\n"
        + ";;nameless@example.com;pt_br;;\r\n"
        + "Zoe;Again;ZOE@example.com;;Repeat;\r\n"
    ).encode()
)


def test_contacts_are_created_as_guests_and_added_to_a_new_segment(app, admin, shop):
    known = _existing(shop, "known@example.com")
    _existing(shop, "gone@example.com", deleted_at=utcnow())
    import_id = upload_ok(
        admin, FILE, name="contacts.csv", kind="contacts", segment_id="new", new_segment="Fair"
    )
    preview = get_import(import_id).summary["preview"]
    expected = {"created": 2, "updated": 0, "unchanged": 2, "added_to_segment": 3}
    assert {key: preview[key] for key in expected} == expected
    assert preview["error_rows"] == 3
    confirm(admin, import_id)
    run_jobs(app)

    job = get_import(import_id)
    assert job.status == "done"
    # The preview's promise is the result: both are counted by one computation.
    assert job.summary["result"] == expected
    contacts = _contacts(shop)
    zoe = contacts["zoe@example.com"]
    assert (zoe.first_name, zoe.last_name, zoe.locale) == ("Zoë", "Martin", "fr")
    assert (zoe.state, zoe.is_member, zoe.shopify_id) == ("DISABLED", False, None)
    assert zoe.attributes == {"Source": "Trade show", "Birthday": "1990-01-01"}
    assert contacts["nameless@example.com"].locale == "pt-BR"
    # Existing contacts are left alone without "update existing", but join the segment.
    db.session.refresh(known)
    assert (known.first_name, known.locale, known.attributes) == ("Old", "en", {"Kept": "yes"})
    assert _members("Fair") == {"zoe@example.com", "known@example.com", "nameless@example.com"}
    errors = row_errors(import_id)
    assert errors[4].column == "email" and "not a valid address" in errors[4].reason
    assert errors[5].column == "locale" and errors[5].value == "klingon"
    assert errors[6].column == "email" and "deleted" in errors[6].reason
    assert count(Invitation) == 0


def test_update_existing_changes_only_what_the_file_fills_in(app, admin, shop):
    known = _existing(shop, "known@example.com", shopify_id=7_000_000_001)
    segment = Segment(shop_id=shop.id, name="VIP")
    db.session.add(segment)
    db.session.commit()
    content = (
        b"first_name,last_name,email,locale,Tier\r\n"
        b"New,,known@example.com,de-at,Gold\r\n"
        b"Fresh,Face,fresh@example.com,,\r\n"
    )
    import_id = upload_ok(
        admin,
        content,
        name="c.csv",
        kind="contacts",
        segment_id=str(segment.id),
        update_existing="1",
    )
    confirm(admin, import_id)
    run_jobs(app)

    db.session.refresh(known)
    assert (known.first_name, known.last_name, known.locale) == ("New", "Name", "de-AT")
    assert known.attributes == {"Kept": "yes", "Tier": "Gold"}
    assert (known.state, known.shopify_id) == ("ENABLED", 7_000_000_001)
    assert get_import(import_id).summary["result"]["updated"] == 1
    assert _members("VIP") == {"known@example.com", "fresh@example.com"}


def test_importing_the_same_contacts_twice_adds_nobody_twice(app, admin, shop):
    content = b"first_name,last_name,email\r\nAda,L,ada@example.com\r\nBo,K,bo@example.com\r\n"
    for confirm_duplicate in ("", "1"):
        import_id = upload_ok(
            admin, content, name="c.csv", kind="contacts", segment_id="new", new_segment="List"
        )
        confirm(admin, import_id, confirm_duplicate=confirm_duplicate)
        run_jobs(app)
    assert len(_contacts(shop)) == 2
    assert count(SegmentMember) == 2


def test_contacts_import_needs_its_columns_and_a_segment(app, admin, shop):
    missing = upload(
        admin,
        b"name,email\r\nAda,ada@example.com\r\n",
        kind="contacts",
        segment_id="new",
        new_segment="X",
    )
    assert missing.status_code == 400
    assert "Missing required columns: first_name, last_name" in missing.get_data(as_text=True)
    unnamed = upload(
        admin,
        b"first_name,last_name,email\r\nA,B,a@example.com\r\n",
        kind="contacts",
        segment_id="new",
        new_segment="  ",
    )
    assert unnamed.status_code == 400 and "Give the new segment a name" in unnamed.get_data(
        as_text=True
    )
    assert count(Customer) == 0 and count(Segment) == 0


def test_locale_normalisation():
    assert [
        normalize_locale(x) for x in ("EN", "en_us", "zh-hant-tw", "pt-br", "xx", "english")
    ] == [
        "en",
        "en-US",
        "zh-Hant-TW",
        "pt-BR",
        None,
        None,
    ]


def _outcome(admin, import_id: int) -> list[str]:
    """The preview's "What will happen" list, as the merchant reads it."""
    page = admin.get(f"/imports/{import_id}").get_data(as_text=True)
    block = page.split("data-preview-outcome>")[1].split("</ul>")[0]
    items = [re.sub(r"<[^>]+>", "", item) for item in block.split("<li>")[1:]]
    return [" ".join(html.unescape(item).split()) for item in items]


def test_contacts_preview_promises_what_the_import_does(app, admin, shop):
    """Seen before: a preview "All 5 added" against a result "4 added", counts not adding up."""
    known = _existing(shop, "known@example.com")
    segment = Segment(shop_id=shop.id, name="VIP")
    db.session.add(segment)
    db.session.flush()
    db.session.add(SegmentMember(segment_id=segment.id, customer_id=known.id, shop_id=shop.id))
    db.session.commit()
    content = (
        b"first_name,last_name,email\r\n"
        b"Ada,L,ada@example.com\r\n"
        b"Bo,K,bo@example.com\r\n"
        b"Known,P,KNOWN@example.com\r\n"
        b"Ada,Again,ada@example.com\r\n"
        b"Cy,D,cy@example.com\r\n"
    )
    import_id = upload_ok(admin, content, name="c.csv", kind="contacts", segment_id=str(segment.id))
    assert _outcome(admin, import_id) == [
        "3 new contacts are created as Guests.",
        "2 existing contacts are left as they are. (rows for an email already in the store or "
        "earlier in the file)",
        "3 contacts are added to VIP; 1 is already in it. No one is emailed or invited.",
        "0 rows are rejected.",
    ]
    preview = get_import(import_id).summary["preview"]
    confirm(admin, import_id)
    run_jobs(app)

    result = get_import(import_id).summary["result"]
    assert result == {key: preview[key] for key in result}
    assert result == {"created": 3, "updated": 0, "unchanged": 2, "added_to_segment": 3}
    assert result["created"] + result["updated"] + result["unchanged"] == preview["valid_rows"]
    assert _members("VIP") == {
        "known@example.com",
        "ada@example.com",
        "bo@example.com",
        "cy@example.com",
    }


def test_one_of_each_reads_in_the_singular(app, admin, shop):
    _existing(shop, "known@example.com")
    content = b"first_name,last_name,email\r\nAda,L,ada@example.com\r\nK,P,known@example.com\r\n"
    import_id = upload_ok(
        admin, content, name="c.csv", kind="contacts", segment_id="new", new_segment="One"
    )
    outcome = _outcome(admin, import_id)
    assert outcome[0] == "1 new contact is created as a Guest."
    assert outcome[1].startswith("1 existing contact is left as it is.")
