"""Blueprint "imports": upload a CSV, check its preview, confirm, watch it run, download rejects."""

from __future__ import annotations

import re
from collections.abc import Callable

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    stream_with_context,
)

from shopify_app.imports import decisions, preview, reports
from shopify_app.imports.reading import DELIMITER_NAMES
from shopify_app.imports.runs import batch_size, queue_import
from shopify_app.imports.samples import sample_csv
from shopify_app.platform.auth.guards import shop_required
from shopify_app.platform.errors import ImportFileError
from shopify_app.platform.extensions import db
from shopify_app.platform.files import upload_deleted_by
from shopify_app.platform.models import ImportJob
from shopify_app.platform.models.imports import CONTACTS, EVENTS, PEOPLE, POINTS
from shopify_app.platform.request_limits import accepts_upload
from shopify_app.platform.shops import get_for_shop_or_404
from shopify_app.platform.templating import admin_url
from shopify_app.segments.store import (
    InvalidSegmentName,
    find_segment,
    get_or_create_segment,
    list_segments,
)

bp = Blueprint("imports", __name__, url_prefix="/imports")
bp.add_app_template_global(reports.status_badge, "import_status_badge")
ERRORS_PER_PAGE = 100


def _index(error: str | None = None, status: int = 200):
    form = request.form if request.method == "POST" else {}
    page = render_template(
        "imports/index.html",
        imports=reports.recent_imports(g.shop),
        segments=list_segments(g.shop),
        form=form,
        error=error,
    )
    return page, status


@bp.get("")
@shop_required
def index():
    return _index()


def _segment_from_form():
    """The chosen segment, or a new one named in the form (contacts imports only)."""
    if request.form.get("kind") != CONTACTS:
        return None
    chosen = request.form.get("segment_id", "")
    if chosen.isdigit():
        segment = find_segment(g.shop, int(chosen))
        if segment is None:
            raise InvalidSegmentName("That segment no longer exists; choose another.")
        return segment
    return get_or_create_segment(g.shop, request.form.get("new_segment", ""))


@bp.post("")
@accepts_upload
@shop_required
def upload():
    """Store and validate the file, then show its preview."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _index("Choose a CSV file to upload.", 400)
    try:
        job = preview.create_import(
            g.shop,
            request.form.get("kind", ""),
            upload.filename,
            upload.stream,
            segment=_segment_from_form(),
            update_existing=request.form.get("update_existing") == "1",
            points_mode=request.form.get("points_mode") or None,
            people={key: request.form.get(key) for key in ("mode", "empty")},
            timezone=request.form.get("timezone") or None,
        )
    except (ImportFileError, InvalidSegmentName) as error:
        db.session.rollback()
        return _index(str(error), 400)
    finally:
        upload.close()
    db.session.commit()
    return redirect(admin_url("imports.show", import_id=job.id))


@bp.get("/<int:import_id>")
@shop_required
def show(import_id: int):
    job = get_for_shop_or_404(ImportJob, import_id, g.shop)
    page = max(request.args.get("errors_page", 1, type=int), 1)
    return render_template(
        "imports/show.html",
        job=job,
        segment=find_segment(g.shop, job.segment_id) if job.segment_id else None,
        errors=reports.row_errors(job, limit=ERRORS_PER_PAGE, offset=(page - 1) * ERRORS_PER_PAGE),
        error_total=reports.error_count(job),
        errors_page=page,
        per_page=ERRORS_PER_PAGE,
        figures=reports.import_figures(job),
        progress=reports.progress(job),
        delimiter=DELIMITER_NAMES.get(job.delimiter or ",", job.delimiter),
        upload_deleted_by=upload_deleted_by(job),
    )


@bp.post("/<int:import_id>/confirm")
@shop_required
def confirm(import_id: int):
    job = get_for_shop_or_404(ImportJob, import_id, g.shop)
    try:
        decisions.confirm_import(
            g.shop,
            job,
            apply_with_errors=request.form.get("apply_with_errors", "1") == "1",
            confirm_duplicate=request.form.get("confirm_duplicate") == "1",
            confirm_updates=request.form.get("confirm_updates") == "1",
        )
    except preview.ImportStateError as error:
        db.session.rollback()
        if isinstance(error, decisions.DuplicateFileNotConfirmed):
            decisions.mark_duplicate(job, error.duplicate_of)
            db.session.commit()
        flash(str(error), "critical")
        return redirect(admin_url("imports.show", import_id=import_id))
    db.session.commit()
    queue_import(job.id, job.attempts)
    return redirect(admin_url("imports.show", import_id=import_id))


@bp.post("/<int:import_id>/points-mode")
@shop_required
def points_mode(import_id: int):
    """The merchant says whether a `points`/`balance` column adds points or sets balances."""
    mode = request.form.get("points_mode", "")
    return _preview_again(import_id, lambda job: preview.choose_points_mode(g.shop, job, mode))


@bp.post("/<int:import_id>/people-settings")
@shop_required
def people_settings(import_id: int):
    """The merchant changes a people import's mode or empty-cell rule; the preview reruns."""
    settings = {key: request.form.get(key) for key in ("mode", "empty")}
    return _preview_again(
        import_id, lambda job: decisions.choose_people_settings(g.shop, job, settings)
    )


@bp.post("/<int:import_id>/timezone")
@shop_required
def timezone(import_id: int):
    """The merchant picks the timezone an events file's times without an offset are read in."""
    zone = request.form.get("timezone", "").strip()
    return _preview_again(import_id, lambda job: decisions.choose_timezone(g.shop, job, zone))


def _preview_again(import_id: int, change: Callable[[ImportJob], None]):
    """Apply the merchant's answer to a previewed import (which previews it again), commit,
    and go back to it; a refusal is shown there and changes nothing."""
    job = get_for_shop_or_404(ImportJob, import_id, g.shop)
    try:
        change(job)
    except (preview.ImportStateError, ImportFileError) as error:
        db.session.rollback()
        flash(str(error), "critical")
    else:
        db.session.commit()
    return redirect(admin_url("imports.show", import_id=import_id))


@bp.get("/<int:import_id>/cancel")
@shop_required
def ask_cancel(import_id: int):
    """Ask first: rows applied so far stay, the rest are not imported; the form POSTs below."""
    job = get_for_shop_or_404(ImportJob, import_id, g.shop)
    plan = decisions.plan_cancel(job, batch_rows=batch_size())
    return render_template("imports/cancel.html", job=job, plan=plan)


@bp.post("/<int:import_id>/cancel")
@shop_required
def cancel(import_id: int):
    job = get_for_shop_or_404(ImportJob, import_id, g.shop)
    try:
        decisions.cancel_import(g.shop, job)
    except preview.ImportStateError as error:
        flash(str(error), "critical")
    else:
        db.session.commit()
        flash("Import cancelled." if job.status == "cancelled" else "Stopping the import…", "info")
    return redirect(admin_url("imports.show", import_id=import_id))


@bp.get("/<int:import_id>/revert")
@shop_required
def ask_revert(import_id: int):
    """Ask first: the rows, points and customers a revert takes back; the form POSTs below."""
    job = get_for_shop_or_404(ImportJob, import_id, g.shop)
    plan = decisions.plan_revert(g.shop, job)
    return render_template("imports/revert.html", job=job, plan=plan)


@bp.post("/<int:import_id>/revert")
@shop_required
def revert(import_id: int):
    job = get_for_shop_or_404(ImportJob, import_id, g.shop)
    try:
        decisions.request_revert(g.shop, job)
    except preview.ImportStateError as error:
        db.session.rollback()
        flash(str(error), "critical")
    else:
        db.session.commit()
        queue_import(job.id, job.attempts, revert=True)
    return redirect(admin_url("imports.show", import_id=import_id))


@bp.get("/<int:import_id>/progress.json")
@shop_required
def progress(import_id: int):
    job = get_for_shop_or_404(ImportJob, import_id, g.shop)
    data = reports.progress(job)
    if data["finished"]:
        data["redirect"] = admin_url("imports.show", import_id=import_id)
    return data


@bp.get("/<int:import_id>/rejected.csv")
@shop_required
def rejected(import_id: int):
    job = get_for_shop_or_404(ImportJob, import_id, g.shop)
    name = re.sub(r"[^A-Za-z0-9._-]", "_", job.filename.rsplit(".", 1)[0]) + "-rejected.csv"
    return Response(
        stream_with_context(reports.rejected_rows_csv(job)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.get("/samples/<kind>.csv")
@shop_required
def sample(kind: str):
    if kind not in (POINTS, CONTACTS, PEOPLE, EVENTS):
        abort(404)
    return Response(
        sample_csv(g.shop, kind),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="sample-{kind}.csv"'},
    )
