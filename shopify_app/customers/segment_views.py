"""Blueprint "segments": the Segments page, a segment's members, the rule editor, delete.

Part of customers: a segment's page is the customers table of its members (the same query,
pages, "select all matching" and export, with `segment=<id>`), and the rule editor's live
count is the count that table shows.
"""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request

from shopify_app.customers import queries as table
from shopify_app.customers.views import table_page
from shopify_app.platform.auth.guards import shop_required
from shopify_app.platform.extensions import db
from shopify_app.platform.models import Segment
from shopify_app.platform.models.segment import DYNAMIC
from shopify_app.platform.shops import get_for_shop_or_404
from shopify_app.platform.templating import admin_url
from shopify_app.segments import editing, enrolments, store
from shopify_app.segments.forms import SegmentForm, SegmentRulesForm, rule_rows
from shopify_app.segments.rules import (
    ATTRIBUTE_OPS,
    FIELD_OPS,
    FIELDS,
    MATCHES,
    OPS,
    attribute_kinds,
    compile_rules,
)

bp = Blueprint("segments", __name__, url_prefix="/segments")


@bp.get("")
@shop_required
def index():
    """Every segment with its member count; dynamic ones are counted by `count_members` after
    the page renders (each is a query over every customer)."""
    segments = store.list_segments(g.shop, None, count_dynamic=False)
    return render_template("segments/index.html", segments=segments)


@bp.get("/<int:id>/count.json")
@shop_required
def count_members(id: int):
    """How many customers the segment holds now."""
    segment = get_for_shop_or_404(Segment, id, g.shop)
    return {"count": store.count_members(g.shop, segment)}


@bp.get("/<int:id>")
@shop_required
def show(id: int):
    """The segment's members as the customers table lists them, and who it enrolled."""
    segment = get_for_shop_or_404(Segment, id, g.shop)
    query = table.TableQuery.from_args({**request.args, "segment": str(id)})
    page = table_page(query)
    return render_template(
        "segments/show.html",
        segment=segment,
        page=page,
        query=query,
        problems=store.membership(g.shop, segment).problems,
        enrolled=enrolments.recent_enrolments(g.shop, segment),
        enrolled_total=enrolments.count_enrolments(g.shop, segment),
    )


def _render_editor(segment: Segment | None, form: SegmentForm, status: int = 200):
    stored = request.method == "GET" and segment is not None
    rows = [row.data for row in form.rows]
    if stored:
        rows = rule_rows(segment.rules, g.shop.currency)
    blank = {"what": "", "op": "", "value": "", "event": "", "times": "", "days": ""}
    if not rows or rows[-1].get("what") or request.form.get("add"):
        rows.append(blank)
    kinds = attribute_kinds(g.shop)
    return render_template(
        "segments/edit.html",
        segment=segment,
        name=segment.name if stored else form.name.data or "",
        match=segment.match if stored else form.match.data or "all",
        rows=rows,
        errors=form.field_errors() if status != 200 else {},
        fields=FIELDS,
        ops=OPS,
        field_ops=FIELD_OPS,
        attribute_ops=ATTRIBUTE_OPS,
        kinds=kinds,
        matches=MATCHES,
    ), status


@bp.route("/new", methods=["GET", "POST"])
@shop_required
def new():
    """Build a dynamic segment from conditions; "Add condition" works without JavaScript."""
    return _edit(None)


@bp.route("/<int:id>/edit", methods=["GET", "POST"])
@shop_required
def edit(id: int):
    segment = get_for_shop_or_404(Segment, id, g.shop)
    if segment.kind != DYNAMIC:
        flash("Static segments have no conditions: their members come from imports.", "info")
        return redirect(admin_url("segments.show", id=id))
    return _edit(segment)


def _edit(segment: Segment | None):
    form = SegmentForm(request.form, shop=g.shop)
    if request.method == "GET" or request.form.get("add"):
        return _render_editor(segment, form)
    if not form.validate():
        return _render_editor(segment, form, 422)
    try:
        saved = editing.save_dynamic_segment(
            g.shop, segment, name=form.name.data, match=form.match.data, rules=form.rules
        )
    except editing.DuplicateSegmentName as error:
        form.name.errors = [str(error)]
        db.session.rollback()
        return _render_editor(segment, form, 422)
    db.session.commit()
    flash(f"Segment “{saved.name}” saved.", "success")
    return redirect(admin_url("segments.show", id=saved.id))


@bp.get("/count.json")
@shop_required
def count():
    """The editor's live count: how many customers its conditions match right now."""
    form = SegmentRulesForm(request.args, shop=g.shop)
    if not form.validate():
        return {"count": None, "errors": form.field_errors()}, 422
    compiled = compile_rules(g.shop, form.rules, form.match.data)
    return {"count": store.count_matching(g.shop, compiled), "errors": {}}


@bp.post("/from-selection")
@shop_required
def from_selection():
    """A static segment of the customers ticked in the table."""
    ids = [int(v) for v in request.form.getlist("customer_id") if v.isdigit()]
    name = request.form.get("name", "")
    if not ids or not name.strip():
        flash("Tick customers and give the segment a name.", "warning")
        return redirect(admin_url("customers.index"))
    try:
        segment = editing.create_static_segment(g.shop, name[:255], ids)
    except editing.DuplicateSegmentName as error:
        db.session.rollback()
        flash(str(error), "warning")
        return redirect(admin_url("customers.index"))
    db.session.commit()
    return redirect(admin_url("segments.show", id=segment.id))


@bp.get("/<int:id>/delete")
@shop_required
def ask_delete(id: int):
    """Ask first: what deleting the segment does, with its member count."""
    segment = get_for_shop_or_404(Segment, id, g.shop)
    return render_template(
        "segments/delete.html", segment=segment, members=store.count_members(g.shop, segment)
    )


@bp.post("/<int:id>/delete")
@shop_required
def delete(id: int):
    segment = get_for_shop_or_404(Segment, id, g.shop)
    name = segment.name
    editing.delete_segment(g.shop, segment)
    db.session.commit()
    flash(f"Segment “{name}” deleted. Its customers are still in the app.", "success")
    return redirect(admin_url("segments.index"))
