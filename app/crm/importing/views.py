"""CSV import pages: upload -> column mapping -> dry-run preview -> run (a job) with progress.

Nothing is written to the database before "Run import"; the uploaded file lives
in Redis for an hour (see app/crm/importing/services.py for why).
"""
from __future__ import annotations

import hashlib
import json
import logging

from flask import abort, redirect, request, url_for
from flask_login import current_user

from app.auth.permissions import SALES, require
from app.crm import bp
from app.crm.importing import services as importing
from app.crm.importing.forms import RunForm, UploadForm, mapping_form, mapping_from
from app.errors import error_response
from app.extensions import db
from app.htmx import render
from app.queue import enqueue
from app.security import body_limit

log = logging.getLogger(__name__)

# The whole request may carry the file plus the multipart envelope and the token.
REQUEST_LIMIT = importing.MAX_UPLOAD_BYTES + 64 * 1024
TOO_LARGE = (f"The file is larger than {importing.MAX_UPLOAD_BYTES // 1024 // 1024} MB. "
             "Split it into smaller files and import them one after the other.")


@bp.errorhandler(413)
def _too_large(error):
    if request.endpoint == "crm.import_upload":
        return render("crm/importing/upload.html", "upload_form", context=dict(form=UploadForm(formdata=None), error=TOO_LARGE), status=413)
    return error_response(413)


def _meta_or_404(token: str) -> importing.UploadMeta:
    meta = importing.UploadStore().meta(token)
    if meta is None or meta.user_id != str(current_user.id):
        abort(404)
    return meta


def _expired(token: str):
    return render("crm/importing/upload.html", "upload_form", context=dict(form=UploadForm(formdata=None), error="This upload has expired (uploads are kept for an hour). Upload the file again."), status=410)


@bp.get("/companies/import")
@require(SALES)
def import_upload():
    return render("crm/importing/upload.html", "upload_form", context=dict(form=UploadForm(), error=None))


@bp.post("/companies/import")
@require(SALES)
@body_limit(REQUEST_LIMIT)
def import_upload_post():
    form = UploadForm()
    if not form.validate_on_submit():
        return render("crm/importing/upload.html", "upload_form", context=dict(form=form, error=None), status=422)
    upload = form.file.data
    raw = upload.stream.read(importing.MAX_UPLOAD_BYTES + 1)
    try:
        parsed = importing.read_upload(raw)
    except importing.UploadRejected as exc:
        log.info("import upload rejected user=%s size=%s reason=%s", current_user.id, len(raw),
                 exc.message)
        message = TOO_LARGE if exc.status == 413 else exc.message
        return render("crm/importing/upload.html", "upload_form", context=dict(form=form, error=message), status=exc.status)
    meta = importing.UploadStore().save(parsed, filename=upload.filename or "upload.csv",
                                        size=len(raw), user_id=current_user.id)
    return redirect(url_for("crm.import_mapping", token=meta.token), 303)


@bp.route("/companies/import/<token>", methods=["GET", "POST"])
@require(SALES)
def import_mapping(token: str):
    """GET: the mapping form. POST: save the mapping, then preview (the dry run)."""
    store = importing.UploadStore()
    meta = _meta_or_404(token)
    if store.state(token, "run"):  # the mapping is fixed once the run has started
        return redirect(url_for("crm.import_status", token=token), 303)
    form = mapping_form(meta.header, meta.mapping, meta.source)
    problems: list[str] = []
    if request.method == "GET":
        problems = importing.mapping_problems(meta.mapping, meta.header)
        return render("crm/importing/mapping.html", "mapping_form", context=dict(meta=meta, form=form, problems=problems))
    if form.validate_on_submit():
        mapping = mapping_from(form)
        problems = importing.mapping_problems(mapping, meta.header)
        if not problems:
            meta.mapping, meta.source = mapping, form.source.data
            store.update_meta(meta)
            store.set_state(token, "preview", {"status": "queued", "processed": 0,
                                               "total": meta.row_count})
            if meta.row_count <= importing.SYNC_PREVIEW_MAX_ROWS:
                try:
                    importing.preview_now(meta, store)
                except importing.UploadRejected:
                    return _expired(token)
            else:
                version = hashlib.sha1(json.dumps([meta.source, mapping], sort_keys=True)
                                       .encode()).hexdigest()[:12]
                enqueue("import", "app.crm.importing.jobs.preview_import", token,
                        job_id=f"import-preview-{token}-{version}")
                db.session.commit()  # enqueue() reaches Redis on commit
            return redirect(url_for("crm.import_preview", token=token), 303)
    return render("crm/importing/mapping.html", "mapping_form", context=dict(meta=meta, form=form, problems=problems), status=422)


@bp.get("/companies/import/<token>/preview")
@require(SALES)
def import_preview(token: str):
    meta = _meta_or_404(token)
    return _status_page(meta, "preview")


@bp.post("/companies/import/<token>/run")
@require(SALES)
def import_run(token: str):
    meta = _meta_or_404(token)
    store = importing.UploadStore()
    form = _run_form()
    if not form.validate_on_submit():
        abort(400)
    importing.start_import(meta, store, actor=current_user, rep_ids=form.reps.data)
    db.session.commit()  # the activity, and enqueue() reaches Redis on commit
    return redirect(url_for("crm.import_status", token=token), 303)


@bp.get("/companies/import/<token>/run")
@require(SALES)
def import_status(token: str):
    meta = _meta_or_404(token)
    return _status_page(meta, "run")


@bp.get("/companies/import/<token>/progress/<mode>")
@require(SALES)
def import_progress(token: str, mode: str):
    """The polled fragment: stops polling (no hx-trigger) once the job is done or failed."""
    if mode not in ("preview", "run"):
        abort(404)
    meta = _meta_or_404(token)
    return _status_page(meta, mode)


def _run_form() -> RunForm:
    form = RunForm()
    form.reps.choices = [(str(u.id), u.full_name) for u in importing.assignable_reps()]
    if not form.is_submitted() and any(value == str(current_user.id) for value, _ in form.reps.choices):
        form.reps.data = [str(current_user.id)]  # the importer's own, unless they choose others
    return form


def _status_page(meta: importing.UploadMeta, mode: str):
    store = importing.UploadStore()
    state = store.state(meta.token, mode) or {"status": "missing"}
    reps = {str(u.id): u.full_name for u in importing.assignable_reps()} if mode == "run" else {}
    # A run whose worker died (or that failed) offers "Run it again": it goes on where it stopped.
    stuck = mode == "run" and importing.run_is_stuck(meta.token, state, store)
    again = stuck or (mode == "run" and state["status"] == "failed")
    return render("crm/importing/status.html", "status", context=dict(meta=meta, mode=mode, state=state, stuck=stuck, run_form=_run_form() if mode == "preview" or again else None, again=again, fields=importing.FIELDS, rep_names=[reps[r] for r in meta.rep_ids if r in reps]))
