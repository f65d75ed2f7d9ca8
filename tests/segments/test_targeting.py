"""Targeting a segment: its members are enrolled (and invited, if chosen) when it becomes the
program's audience, and members who arrive later are enrolled by the sweep, each once; the
segment page says who was enrolled when."""

from __future__ import annotations

from sqlalchemy import func, select

from shopify_app.invitations.jobs import sweep_audiences
from shopify_app.platform.extensions import db
from shopify_app.platform.models import Customer, Invitation, Segment, SegmentEnrolment, Shop
from shopify_app.platform.models.segment import DYNAMIC
from shopify_app.privacy.shop_redact import redact_shop
from shopify_app.program.config import get_settings, join_program
from tests.csv_imports.importing import confirm, upload_ok
from tests.factories import make_customer, set_balance
from tests.helpers import make_shop, run_jobs
from tests.pages import post_form, text_of
from tests.segments.test_segment_pages import static_segment


def enrolments(segment: Segment) -> dict[int, object]:
    db.session.expire_all()
    rows = db.session.execute(
        select(SegmentEnrolment.customer_id, SegmentEnrolment.enrolled_at).where(
            SegmentEnrolment.segment_id == segment.id
        )
    )
    return dict(rows.all())


def target(admin, app, segment: Segment, *, send: bool) -> None:
    """The merchant targets the segment from its page: ask first, then confirm."""
    query = {"segment_id": str(segment.id), **({"send_invitations": "1"} if send else {})}
    ask = admin.get("/program/audience", query_string=query)
    assert ask.status_code == 200
    action, fields = post_form(ask.get_data(as_text=True))
    assert admin.client.post(action, data=fields).status_code == 302
    run_jobs(app)


def joined(*customers: Customer) -> list[bool]:
    db.session.expire_all()
    return [db.session.get(Customer, c.id).joined_at is not None for c in customers]


def test_targeting_enrols_members_once_however_often_the_sweep_runs(admin, app, shop):
    ann, ben = make_customer(shop, first_name="Ann"), make_customer(shop, first_name="Ben")
    already = make_customer(shop, first_name="Cat")
    outsider = make_customer(shop, first_name="Out")
    join_program(shop, already)
    segment = static_segment(shop, "VIP", [ann, ben, already])
    db.session.commit()
    page = admin.get(f"/segments/{segment.id}").get_data(as_text=True)
    assert "Target this segment" in page

    target(admin, app, segment, send=False)
    assert joined(ann, ben, already, outsider) == [True, True, True, False]
    first = enrolments(segment)
    assert set(first) == {ann.id, ben.id}  # Cat had joined on her own
    codes = {c.id: db.session.get(Customer, c.id).referral_code for c in (ann, ben)}
    assert all(codes.values())

    with app.app_context():
        assert sweep_audiences() == 0
        assert sweep_audiences() == 0
    assert enrolments(segment) == first
    assert {c.id: db.session.get(Customer, c.id).referral_code for c in (ann, ben)} == codes

    words = text_of(admin.get(f"/segments/{segment.id}").get_data(as_text=True))
    assert "Enrolled from this segment" in words and "2 customers joined" in words
    assert "Ann" in words and "Program audience" in words


def test_contacts_imported_into_a_static_audience_later_are_enrolled_as_they_arrive(
    admin, app, shop
):
    segment = static_segment(shop, "Newsletter", [make_customer(shop, first_name="Early")])
    db.session.commit()
    target(admin, app, segment, send=False)
    assert len(enrolments(segment)) == 1

    content = (
        b"first_name,last_name,email\r\n"
        b"Late,One,late1@example.com\r\n"
        b"Later,Two,late2@example.com\r\n"
    )
    import_id = upload_ok(admin, content, name="c.csv", kind="contacts", segment_id=str(segment.id))
    confirm(admin, import_id)
    run_jobs(app)
    late = (
        db.session.execute(
            select(Customer).where(
                Customer.email_key.in_(["late1@example.com", "late2@example.com"])
            )
        )
        .scalars()
        .all()
    )
    assert len(late) == 2 and joined(*late) == [False, False]

    with app.app_context():
        assert sweep_audiences() == 2
        assert sweep_audiences() == 0
    assert joined(*late) == [True, True]
    assert len(enrolments(segment)) == 3


def test_new_matches_of_a_dynamic_audience_are_enrolled_and_invited_once(admin, app, shop, inbox):
    rich = make_customer(shop, first_name="Rich", email="rich@example.com", points_balance=500)
    poor = make_customer(shop, first_name="Poor", email="poor@example.com", points_balance=10)
    segment = Segment(
        shop_id=shop.id,
        name="High points",
        kind=DYNAMIC,
        rules=[{"field": "points", "op": "gte", "value": 100}],
    )
    db.session.add(segment)
    db.session.commit()
    target(admin, app, segment, send=True)
    assert joined(rich, poor) == [True, False]
    assert get_settings(shop).audience_invites is True

    set_balance(db.session.get(Customer, poor.id), 150)  # earned points since
    db.session.commit()
    with app.app_context():
        assert sweep_audiences() == 1
    run_jobs(app)
    with app.app_context():
        assert sweep_audiences() == 0
    run_jobs(app)
    assert joined(rich, poor) == [True, True]
    assert set(enrolments(segment)) == {rich.id, poor.id}
    invited = db.session.execute(
        select(Invitation.customer_id, func.count()).group_by(Invitation.customer_id)
    ).all()
    assert sorted(invited) == sorted([(rich.id, 1), (poor.id, 1)])
    recipients = sorted(str(m["To"]).split("<")[-1] for m in inbox.messages)
    assert recipients == ["poor@example.com>", "rich@example.com>"]


def test_an_audience_enrols_only_its_own_shops_customers(admin, app, shop, shopify_double):
    other = make_shop(shopify_double, "other-shop.myshopify.com")
    theirs = make_customer(other, first_name="Zed", points_balance=900)
    mine = make_customer(shop, first_name="Me", points_balance=900)
    segment = Segment(
        shop_id=shop.id,
        name="All",
        kind=DYNAMIC,
        rules=[{"field": "points", "op": "gte", "value": 1}],
    )
    db.session.add(segment)
    db.session.commit()
    target(admin, app, segment, send=False)
    with app.app_context():
        sweep_audiences()
    assert joined(mine, theirs) == [True, False]
    assert set(enrolments(segment)) == {mine.id}


def test_shop_redact_erases_the_enrolment_log(admin, app, shop):
    segment = static_segment(shop, "VIP", [make_customer(shop, first_name="Ann")])
    db.session.commit()
    target(admin, app, segment, send=False)
    assert len(enrolments(segment)) == 1
    get_settings(shop)
    redact_shop(db.session.get(Shop, shop.id))
    db.session.commit()
    assert db.session.execute(select(func.count()).select_from(SegmentEnrolment)).scalar() == 0
