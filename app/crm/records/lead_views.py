"""The lead page: one lead with its company, contact, stage, value, tags, tasks,
notes and activity timeline, and what a rep changes there. Every change answers
with the part of the page it touched and an `activityChanged` event, on which the
timeline reloads."""
import uuid

from flask import abort, flash, redirect, request, url_for
from flask_login import current_user

from app.auth.permissions import SALES, require
from app.crm import bp
from app.crm.models import TaxonomyType
from app.crm.pipeline import moves
from app.crm.pipeline.forms import StageForm
from app.crm.records import notes as noting
from app.crm.records import queries
from app.crm.records import services as records
from app.crm.records.edit_views import taxonomy_choices
from app.crm.records.forms import LeadEditForm, NoteBodyForm
from app.crm.tags import services as tagging
from app.crm.tags.forms import TagForm
from app.crm.tasks.views import add_task_from, new_task_form
from app.errors import uuid_or_404
from app.extensions import db
from app.htmx import activity_changed as changed
from app.htmx import render


def _lead_or_404(lead_id: str):
    lead = queries.lead_detail(uuid_or_404(lead_id))
    if lead is None:
        abort(404)
    return lead


def _tag_form(page: queries.LeadPage) -> TagForm:
    form = TagForm()
    applied = set(page.tags)
    form.slug.choices = [(slug, name) for slug, name, active in page.catalog if active and slug not in applied]
    return form


def _stage_form(page: queries.LeadPage) -> StageForm:
    form = StageForm(formdata=None, data={"stage": page.stage.value, "from_stage": page.stage.value})
    form.stage.choices = [(s.value, label) for s, label in moves.STAGE_LABELS.items()]
    return form


def _lead_page(lead_id, block=None, *, status=200, task_form=None, tag_error=None, stage_form=None,
               stage_error=None, note_form=None):
    """The page (or one block of it) as the lead is now: read again after a change."""
    page = queries.lead_page(lead_id)
    if page is None:
        abort(404)
    from app.reports import lost_reason_choices_from  # (reports' package imports crm's)

    lost_reason_choices_from(page.lost_reasons_setting)
    return render("crm/records/lead.html", block, context=dict(lead=page, tags=page.tags, tag_names={slug: name for slug, name, _ in page.catalog}, tag_form=_tag_form(page), task_form=task_form or new_task_form(blank=True, assignees=page.assignees), tag_error=tag_error, stage_form=stage_form or _stage_form(page), stage_error=stage_error, note_form=note_form or NoteBodyForm(formdata=None, prefix="note"), labels=moves.STAGE_LABELS), status=status)


@bp.get("/leads/<lead_id>")
@require(SALES)
def lead(lead_id: str):
    return _lead_page(uuid_or_404(lead_id))


@bp.post("/leads/<lead_id>/tags")
@require(SALES)
def apply_tag(lead_id: str):
    lead = _lead_or_404(lead_id)
    form = _tag_form(queries.lead_page(lead.id))
    if not form.validate_on_submit():
        return _lead_page(lead.id, "tags", status=422, tag_error="Pick a tag from the list.")
    tagging.apply_tag(lead, form.slug.data, actor=current_user)
    db.session.commit()
    return changed(_lead_page(lead.id, "tags"))


@bp.post("/leads/<lead_id>/tags/<slug>/remove")
@require(SALES)
def remove_tag(lead_id: str, slug: str):
    lead = _lead_or_404(lead_id)
    tagging.remove_tag(lead, slug, actor=current_user)
    db.session.commit()
    return changed(_lead_page(lead.id, "tags"))


@bp.post("/leads/<lead_id>/tasks")
@require(SALES)
def create_task(lead_id: str):
    lead = _lead_or_404(lead_id)
    form = new_task_form(blank=False)
    if not form.validate_on_submit():
        return _lead_page(lead.id, "tasks", status=422, task_form=form)
    add_task_from(form, lead=lead)
    db.session.commit()
    return changed(_lead_page(lead.id, "tasks"), "Task added")


@bp.post("/leads/<lead_id>/stage")
@require(SALES)
def change_stage(lead_id: str):
    """The stage menu of the lead page: the board's move, with its rules and conflicts."""
    lead = _lead_or_404(lead_id)
    form = StageForm()
    form.stage.choices = [(s.value, label) for s, label in moves.STAGE_LABELS.items()]
    if not form.validate_on_submit():
        return _lead_page(lead.id, "summary", status=422, stage_form=form)
    try:
        result = moves.move_lead_to_stage(lead.id, form.stage.data, actor=current_user,
                                          expected_stage=form.from_stage.data or None,
                                          lost_reason=form.lost_reason.data)
    except LookupError:
        abort(404)
    except moves.StageConflict as exc:
        # Someone else moved it: show the stage as it is now, with the news.
        return _lead_page(lead.id, "summary", status=409, stage_error=f"{exc} Here it is now.")
    except moves.MoveError as exc:
        return _lead_page(lead.id, "summary", status=422, stage_form=form, stage_error=str(exc))
    db.session.commit()
    if not result.changed:
        return _lead_page(lead.id, "summary")
    return changed(_lead_page(lead.id, "summary"), f"Moved to {moves.STAGE_LABELS[result.to_stage]}")


@bp.route("/leads/<lead_id>/edit", methods=["GET", "POST"])
@require(SALES)
def edit_lead(lead_id: str):
    lead = _lead_or_404(lead_id)
    posted = request.method == "POST"
    form = LeadEditForm(obj=None if posted else lead)
    contacts = lead.company.contacts if lead.company else [lead.contact]
    form.contact_id.choices = [(str(c.id), c.display_name) for c in contacts]
    form.source.choices = taxonomy_choices(TaxonomyType.SOURCE, lead.source)
    if not posted:
        form.contact_id.data = str(lead.contact_id)
    elif form.validate_on_submit():
        data = {name: getattr(form, name).data for name in records.LEAD_FIELDS}
        data["contact_id"] = uuid.UUID(data["contact_id"])
        try:
            changes = records.update_lead(lead, data, actor=current_user)
        except records.RecordError as exc:
            getattr(form, exc.field or "contact_id").errors.append(str(exc))
        else:
            db.session.commit()
            flash("Lead saved." if changes else "Nothing changed.", "success")
            return redirect(url_for("crm.lead", lead_id=lead.id))
    return render("crm/records/lead_form.html", context=dict(form=form, lead=lead, company=lead.company), status=422 if posted else 200)


@bp.post("/leads/<lead_id>/notes")
@require(SALES)
def add_lead_note(lead_id: str):
    lead = _lead_or_404(lead_id)
    form = NoteBodyForm(prefix="note")
    if lead.company is None:
        abort(422)  # the page offers no note form: notes are kept on a company
    if form.validate_on_submit():
        try:
            noting.add_note(lead.company, form.body.data, actor=current_user, lead=lead)
        except noting.NoteError as exc:
            form.body.errors = [*form.body.errors, str(exc)]
        else:
            db.session.commit()
            return changed(_lead_page(lead.id, "notes"), "Note added")
    return _lead_page(lead.id, "notes", status=422, note_form=form)


@bp.get("/leads/new")
@require(SALES)
def pick_lead_company():
    """"New lead" from the leads list: every lead belongs to a company's contact, so first
    find the company (or create it); its "New lead" form follows."""
    q = (request.args.get("q") or "").strip()[:100]
    companies = queries.companies_page(queries.CompanyFilters(q=q), None, limit=20).companies if q else []
    return render("crm/records/lead_new.html", context=dict(q=q, companies=companies))
