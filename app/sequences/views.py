"""Settings → Sequences (definitions, their numbers and runs) and the lead page's panel."""
from __future__ import annotations

from datetime import UTC, datetime

from flask import current_app, flash, redirect, request, url_for
from flask_login import current_user

from app.auth.permissions import SALES, SETTINGS, require
from app.crm.models import Lead
from app.errors import get_or_404
from app.extensions import db
from app.htmx import is_htmx, render, toast
from app.sequences import bp, definitions, queries, runs, windows
from app.sequences.forms import (
    DAY_LABELS,
    EMPTY_ROWS,
    STEP_LABELS,
    UNIT_LABELS,
    DefinitionForm,
    ReasonForm,
)
from app.sequences.models import SequenceDefinition, SequenceRun, SequenceStatus

STATUS_LABELS = {SequenceStatus.ACTIVE: "Active", SequenceStatus.PAUSED: "Paused",
                 SequenceStatus.COMPLETED: "Completed", SequenceStatus.CANCELED: "Stopped"}
LABELS = dict(step_labels=STEP_LABELS, unit_labels=UNIT_LABELS, day_labels=DAY_LABELS, status_labels=STATUS_LABELS)


@bp.get("/settings/sequences")
@require(SETTINGS)
def index():
    return render("sequences/index.html", context=dict(stats=queries.definitions_with_stats(), **LABELS))


def _form_for(definition: SequenceDefinition | None) -> DefinitionForm:
    if definition is None:
        form = DefinitionForm(formdata=None, steps=[{}] * (1 + EMPTY_ROWS))
    else:
        document = definitions.read(definition.steps)
        steps = [dict(s.as_json()) for s in document.steps] + [{}] * EMPTY_ROWS
        for s in steps:
            if "amount" in s:
                s["amount"] = str(s["amount"])
        form = DefinitionForm(formdata=None, name=definition.name, tag_slug=definition.tag_slug,
                              description=definition.description, is_active=definition.is_active,
                              days=[str(d) for d in document.window.days],
                              start=document.window.start.strftime("%H:%M"), end=document.window.end.strftime("%H:%M"),
                              steps=steps)
    form.set_choices(definitions.disposition_tags(), queries.sequence_templates())
    return form


def _editor(form: DefinitionForm, definition: SequenceDefinition | None, *, status: int = 200):
    preview = zone_name = None
    names: dict[str, str] = {}
    if definition is not None:
        document = definitions.read(definition.steps)
        zone_name = current_app.config["SEQUENCE_DEFAULT_TIMEZONE"]
        zone, _ = windows.contact_zone(None, None, zone_name)
        preview = [(step, at.astimezone(zone)) for step, at in queries.preview(document, datetime.now(UTC), zone)]
        names = queries.template_names(document)
    return render("sequences/edit.html", "editor", status=status, context=dict(
        form=form, definition=definition, preview=preview, zone_name=zone_name, template_names=names,
        step_errors={k: v for k, v in (getattr(form, "document_errors", None) or {}).items()}, **LABELS))


def _save(definition: SequenceDefinition | None):
    form = DefinitionForm()
    form.set_choices(definitions.disposition_tags(), queries.sequence_templates())
    if not form.validate_on_submit():
        return _editor(form, definition, status=422)
    try:
        saved = definitions.save_definition(
            definition, name=form.name.data, tag_slug=form.tag_slug.data, description=form.description.data,
            is_active=form.is_active.data, window=form.window(), steps=form.step_dicts(), actor=current_user)
    except definitions.DefinitionInvalid as exc:
        db.session.rollback()
        form.document_errors = {}
        for key, messages in exc.errors.items():
            field = getattr(form, key, None) if key in ("name", "tag_slug") else None
            if field is not None:
                field.errors = list(field.errors) + messages
            else:
                form.document_errors[key] = messages
        return _editor(form, definition, status=422)
    db.session.commit()
    flash(f"Saved “{saved.name}”.", "success")
    return redirect(url_for("sequences.edit", definition_id=saved.id), 303)


@bp.route("/settings/sequences/new", methods=["GET", "POST"])
@require(SETTINGS)
def new():
    if request.method == "POST":
        return _save(None)
    return _editor(_form_for(None), None)


@bp.route("/settings/sequences/<definition_id>", methods=["GET", "POST"])
@require(SETTINGS)
def edit(definition_id: str):
    definition = get_or_404(SequenceDefinition, definition_id)
    if request.method == "POST":
        return _save(definition)
    return _editor(_form_for(definition), definition)


@bp.get("/settings/sequences/<definition_id>/runs")
@require(SETTINGS)
def definition_runs(definition_id: str):
    definition = get_or_404(SequenceDefinition, definition_id)
    try:
        status = SequenceStatus(request.args.get("status")) if request.args.get("status") else None
    except ValueError:
        status = None
    return render("sequences/runs.html", context=dict(
        definition=definition, runs=queries.runs_of(definition, status), status=status,
        page_size=queries.RUNS_PAGE, **LABELS))


# --------------------------------------------------------------------- the lead page's panel

def _panel(lead: Lead, *, status: int = 200, error: str | None = None, form: ReasonForm | None = None,
           form_run_id=None):
    return render("sequences/_lead_panel.html", status=status, context=dict(
        lead=lead, runs=queries.lead_runs(lead.id), error=error, reason_form=form or ReasonForm(formdata=None),
        form_run_id=form_run_id, **LABELS))


@bp.get("/leads/<lead_id>/sequences")
@require(SALES)
def lead_panel(lead_id: str):
    """The lead page's sequences panel (loaded by the page with hx-get)."""
    return _panel(get_or_404(Lead, lead_id))


def _act(run_id: str, action: str):
    run = get_or_404(SequenceRun, run_id)
    lead = run.lead
    form = ReasonForm()
    if action != "resume" and not form.validate_on_submit():
        return _panel(lead, status=422, form=form, form_run_id=run.id)
    try:
        if action == "pause":
            runs.pause(run, form.reason.data, actor=current_user)
        elif action == "cancel":
            runs.cancel(run, form.reason.data, actor=current_user)
        else:
            runs.resume(run, actor=current_user)
    except runs.RunError as exc:
        db.session.rollback()
        return _panel(lead, status=409, error=str(exc))
    db.session.commit()
    message = {"pause": "Sequence paused", "cancel": "Sequence stopped", "resume": "Sequence resumed"}[action]
    if not is_htmx():
        flash(message, "success")
        return redirect(url_for("crm.lead", lead_id=lead.id), 303)
    return toast(_panel(lead), message)


@bp.post("/sequence-runs/<run_id>/pause")
@require(SALES)
def pause_run(run_id: str):
    return _act(run_id, "pause")


@bp.post("/sequence-runs/<run_id>/resume")
@require(SALES)
def resume_run(run_id: str):
    return _act(run_id, "resume")


@bp.post("/sequence-runs/<run_id>/cancel")
@require(SALES)
def cancel_run(run_id: str):
    return _act(run_id, "cancel")
