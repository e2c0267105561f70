"""Large list exports as jobs: the page that offers one, its start, its progress (polled) and
its download (app.reports.export_jobs). The streamed CSVs are app/reports/views.py's."""
from __future__ import annotations

from flask import abort, redirect, request, send_file, url_for
from flask_login import current_user
from sqlalchemy import select

from app.auth.permissions import SALES, can, require
from app.errors import get_or_404, has_nul_byte
from app.extensions import db
from app.htmx import render
from app.reports import bp, export_jobs
from app.reports.forms import ExportForm
from app.reports.models import ExportJob


@bp.before_app_request
def offer_export_job():
    """A list's CSV link, when its filters match more than EXPORT_JOB_THRESHOLD rows, answers
    the page that prepares the file in the background instead of streaming it. (Before the
    view: the streamed exports stay as they are; a user the view refuses is left to it.)"""
    list_name = export_jobs.BY_ENDPOINT.get(request.endpoint)
    if list_name is None or request.method != "GET":
        return None
    if has_nul_byte(*(text for pair in request.args.items(multi=True) for text in pair)):
        return None  # refused by app.errors.refuse_nul_bytes (which may run after this hook)
    spec = export_jobs.LISTS[list_name]
    if not can(current_user, spec.permission):
        return None
    rows = export_jobs.too_large(list_name, request.args, current_user.id)
    if rows is None:
        return None
    form = ExportForm(formdata=None, list_name=list_name, query=request.query_string.decode("utf-8", "replace"))
    return render("reports/export_start.html", context=dict(
        form=form, spec=spec, rows=rows, threshold=rows - 1, recent=_recent()))


def _recent() -> list[ExportJob]:
    return list(db.session.scalars(select(ExportJob).where(ExportJob.user_id == current_user.id)
                                   .order_by(ExportJob.created_at.desc()).limit(5)))


@bp.post("/exports")
@require(SALES)
def start_export():
    form = ExportForm()
    if form.validate_on_submit():
        spec = export_jobs.LISTS[form.list_name.data]
        if not can(current_user, spec.permission):
            abort(403)
        export = export_jobs.start_export(user=current_user, list_name=form.list_name.data,
                                          query=form.query.data or "")
        db.session.commit()
        return redirect(url_for("reports.export_status", export_id=export.id), code=303)
    return render("reports/export_start.html", context=dict(
        form=form, spec=export_jobs.LISTS.get(form.list_name.data) or export_jobs.LISTS["leads"], rows=None,
        threshold=None, recent=_recent()), status=422)


def _own(export_id: str) -> ExportJob:
    export = get_or_404(ExportJob, export_id)
    if export.user_id != current_user.id:
        abort(404)  # another user's export does not exist for them
    return export


@bp.get("/exports/<export_id>")
@require(SALES)
def export_status(export_id: str):
    """The export's page; its progress block alone for the page's polling (htmx)."""
    export = _own(export_id)
    spec = export_jobs.LISTS[export.list_name]
    return render("reports/export.html", "progress", context=dict(
        export=export, spec=spec, ready=export_jobs.ready_file(export) is not None,
        failed=export.status == export_jobs.FAILED or export_jobs.gave_up(export),
        list_url=f"{url_for(spec.page)}?{export.query}" if export.query else url_for(spec.page, view="all")))


@bp.get("/exports/<export_id>/download")
@require(SALES)
def download_export(export_id: str):
    export = _own(export_id)
    path = export_jobs.ready_file(export)
    if path is None:
        abort(404)
    return send_file(path, mimetype="text/csv", as_attachment=True, download_name=export_jobs.filename(export),
                     max_age=0)
