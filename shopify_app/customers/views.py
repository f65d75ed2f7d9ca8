"""Blueprint "customers": the table, a customer's detail, add by email, and exports."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    send_file,
    stream_with_context,
)

from shopify_app.customers import queries as table
from shopify_app.customers.adding import DuplicateCustomer, add_customer_by_email
from shopify_app.customers.detail import customer_detail
from shopify_app.customers.export import (
    STREAM_MAX_ROWS,
    create_export_job,
    csv_chunks,
    export_filename,
    needs_job,
)
from shopify_app.customers.export_jobs import enqueue_export
from shopify_app.customers.forms import AdjustPointsForm, NewCustomerForm
from shopify_app.loyalty.adjustment import NotEnoughPoints, adjust_points
from shopify_app.platform.auth.guards import shop_required
from shopify_app.platform.extensions import db
from shopify_app.platform.files import export_available, export_expires_at
from shopify_app.platform.models import Customer, ExportJob
from shopify_app.platform.models.export import DONE, FAILED
from shopify_app.platform.models.segment import STATIC
from shopify_app.platform.shops import get_for_shop_or_404
from shopify_app.platform.templating import admin_url
from shopify_app.segments.store import segment_choices

bp = Blueprint("customers", __name__, url_prefix="/customers")


def table_page(query: table.TableQuery) -> table.Page:
    """The page the query asks for; a stale or edited cursor falls back to the first page."""
    try:
        return table.customer_page(g.shop, query)
    except table.InvalidCursor:
        flash("That page link is no longer valid; showing the first page.", "warning")
        return table.customer_page(g.shop, query.first_page())


def _render_index(form: dict | None = None, errors: dict | None = None, status: int = 200):
    query = table.TableQuery.from_args(request.args)
    page = table_page(query)
    return render_template(
        "customers/index.html",
        page=page,
        query=query,
        sorts=table.SORTS,
        statuses=table.STATUSES,
        programs=table.PROGRAMS,
        segments=segment_choices(g.shop),
        static_segments=segment_choices(g.shop, STATIC),
        form=form or {},
        errors=errors or {},
        open_add=form is not None or request.endpoint == "customers.new",
    ), status


@bp.get("")
@shop_required
def index():
    """The customers table; filters, search, sort and the page cursor are query parameters."""
    return _render_index()


@bp.get("/count.json")
@shop_required
def count():
    """How many customers match the filters, fetched after the page renders (a full count
    costs more than a keyset page on a large shop)."""
    return {"count": table.count_matching(g.shop, table.TableQuery.from_args(request.args))}


@bp.get("/new")
@shop_required
def new():
    """The table with the "Add customer" modal open (also the no-JS fallback)."""
    return _render_index(form={})


@bp.post("/new")
@shop_required
def create():
    new_form = NewCustomerForm(request.form, shop=g.shop)
    errors = {}
    if not new_form.validate():
        errors = new_form.field_errors()
    else:
        try:
            customer = add_customer_by_email(g.shop, new_form.new_customer())
        except DuplicateCustomer as error:
            errors = {"email": str(error)}
        else:
            db.session.commit()
            flash(f"{customer.display_name} was added.", "success")
            return redirect(admin_url("customers.detail", id=customer.id))
    db.session.rollback()
    return _render_index(form=request.form.to_dict(), errors=errors, status=422)


@bp.get("/<int:id>")
@shop_required
def detail(id: int):
    detail = customer_detail(
        g.shop,
        id,
        points_before=request.args.get("points_before", type=int),
        events_before=request.args.get("events_before", type=int),
    )
    return render_template("customers/detail.html", detail=detail)


@bp.post("/<int:id>/points")
@shop_required
def adjust(id: int):
    """Add or remove points with a note; errors re-render the page with the form filled in."""
    customer = get_for_shop_or_404(Customer, id, g.shop)
    form = AdjustPointsForm(request.form)
    errors = {} if form.validate() else form.field_errors()
    if not errors:
        try:
            entry = adjust_points(g.shop, customer, form.delta(), form.note.data)
        except NotEnoughPoints as error:
            errors = {"points": str(error)}
        else:
            db.session.commit()
            flash(f"{entry.delta:+,} points recorded. Balance: {entry.balance_after:,}.", "success")
            return redirect(admin_url("customers.detail", id=id, _anchor="points"))
    db.session.rollback()
    return render_template(
        "customers/detail.html",
        detail=customer_detail(g.shop, id),
        adjust_form=request.form.to_dict(),
        adjust_errors=errors,
    ), 422


@bp.get("/export.csv")
@shop_required
def export():
    """The referral program CSV: streamed when small, else a job with a progress page."""
    query = table.TableQuery.from_args(request.args)
    limit = current_app.config.get("EXPORT_STREAM_MAX_ROWS", STREAM_MAX_ROWS)
    too_big, total = needs_job(g.shop, query, limit)
    if too_big:
        job = create_export_job(g.shop, request.args, total)
        db.session.commit()
        enqueue_export(job)
        return redirect(admin_url("customers.export_status", id=job.id))
    filename = export_filename(g.shop, datetime.now(UTC))
    return Response(
        stream_with_context(csv_chunks(g.shop, query)),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


def _render_export_status(job: ExportJob, status: int = 200):
    return render_template(
        "customers/export_status.html",
        job=job,
        DONE=DONE,
        FAILED=FAILED,
        available=export_available(job),
        expires_at=export_expires_at(job),
    ), status


@bp.get("/exports/<int:id>")
@shop_required
def export_status(id: int):
    return _render_export_status(get_for_shop_or_404(ExportJob, id, g.shop))


@bp.get("/exports/<int:id>/progress.json")
@shop_required
def export_progress(id: int):
    job = get_for_shop_or_404(ExportJob, id, g.shop)
    finished = job.status in {DONE, FAILED}
    return {
        "status": job.status.capitalize(),
        "percent": job.percent,
        "done": job.processed_rows,
        "total": job.total_rows,
        "finished": finished,
        "message": job.error_message,
        "redirect": admin_url("customers.export_status", id=job.id) if finished else None,
    }


@bp.get("/exports/<int:id>/download")
@shop_required
def export_download(id: int):
    job = get_for_shop_or_404(ExportJob, id, g.shop)
    if not export_available(job):
        # Expired (or never written): the page says so and offers a new export.
        return _render_export_status(job, 410 if job.status == DONE else 404)
    return send_file(
        job.file_path,
        mimetype="text/csv",
        as_attachment=True,
        download_name=export_filename(g.shop, job.created_at),
    )
