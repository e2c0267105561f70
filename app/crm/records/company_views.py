"""The addresses and notes sections of the company page.

Each answers an htmx request with its section (templates/crm/records/_addresses.html,
_notes.html) re-rendered in place, 422 with the messages when the input is refused.
Without htmx a change redirects back to the company page and a refusal renders the
whole page with the section's form open.
"""
from __future__ import annotations

import uuid

from flask import abort, flash, redirect, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from app.auth.permissions import SALES, require
from app.crm import bp
from app.crm.models import AddressType, Company, CompanyAddress, Lead, Note
from app.crm.pipeline.moves import STAGE_LABELS
from app.crm.records import addresses as addressing
from app.crm.records import notes as noting
from app.crm.records import queries
from app.crm.records.forms import NoteBodyForm
from app.crm.tasks import queries as task_queries
from app.crm.tasks.views import add_task_from, new_task_form
from app.errors import abort_with, get_or_404, uuid_or_404
from app.extensions import db
from app.htmx import activity_changed, is_htmx, render, toast

ADDRESS_TYPES = [(AddressType.BOTH.value, "Billing and shipping"), (AddressType.BILLING.value, "Billing"),
                 (AddressType.SHIPPING.value, "Shipping")]


class AddressForm(FlaskForm):
    label = StringField("Label", default="Main", validators=[Optional(), Length(max=80)])
    type = SelectField("Used for", choices=ADDRESS_TYPES, default=AddressType.BOTH.value)
    address_line1 = StringField("Street address", validators=[
        DataRequired(message="Enter the street address."), Length(max=200)])
    address_line2 = StringField("Suite, unit, building", validators=[Optional(), Length(max=200)])
    city = StringField("City", validators=[DataRequired(message="Enter the city."), Length(max=100)])
    state = StringField("State", validators=[DataRequired(message="Enter the state."), Length(max=100)])
    zip = StringField("ZIP code", validators=[DataRequired(message="Enter the ZIP code."), Length(max=20)])
    country = StringField("Country", default="US", validators=[Optional(), Length(max=2)])
    notes = TextAreaField("Notes", validators=[Optional(), Length(max=1000)])

    def _us(self) -> bool:
        return (self.country.data or "US").strip().upper() == "US"

    def validate_state(self, field):
        if self._us():
            try:
                addressing.us_state(field.data)
            except addressing.AddressError as exc:
                raise ValidationError(str(exc)) from None

    def validate_zip(self, field):
        if self._us():
            try:
                addressing.us_zip(field.data)
            except addressing.AddressError as exc:
                raise ValidationError(str(exc)) from None

    def values(self) -> dict:
        return {name: getattr(self, name).data for name in addressing.FIELDS}


class NoteForm(FlaskForm):
    body = TextAreaField("Note", validators=[DataRequired(message="Write something first."),
                                             Length(max=noting.MAX_BODY)])
    lead_id = SelectField("About", choices=[], validate_choice=True)


def _company_page(company_id, *, status: int = 200, **ctx):
    """The whole company page, maybe with one section's form open (no htmx)."""
    company = queries.company_detail(company_id)
    if company is None:
        abort(404)
    from app.quickbooks.models import LedgerEntity
    from app.quickbooks.queries import sync_badge

    return render("crm/records/company.html", context=dict(company=company, **_tasks_context(company),
                                                           qbo_sync=sync_badge(LedgerEntity.CUSTOMER, company.id), **ctx),
                  status=status)


@bp.get("/companies/<company_id>")
@require(SALES)
def company(company_id: str):
    return _company_page(uuid_or_404(company_id))


# ------------------------------------------------------------------------ tasks

def _tasks_context(company, form=None) -> dict:
    return {"tasks": task_queries.company_tasks(company.id), "task_form": form or new_task_form(blank=True),
            "task_url": url_for("crm.create_company_task", company_id=company.id), "section_id": "company-tasks"}


@bp.post("/companies/<company_id>/tasks")
@require(SALES)
def create_company_task(company_id: str):
    company = get_or_404(Company, company_id)
    form = new_task_form(blank=False)
    if not form.validate_on_submit():
        return render("crm/tasks/_tasks.html", context=dict(**_tasks_context(company, form)), status=422)
    add_task_from(form, company=company)
    db.session.commit()
    return activity_changed(render("crm/tasks/_tasks.html", context=dict(**_tasks_context(company))), "Task added")


def _back_to_company(company_id, message: str):
    flash(message, "success")
    return redirect(url_for("crm.company", company_id=company_id), 303)


# ------------------------------------------------------------------------ addresses


def _company_addresses(company_id) -> list[CompanyAddress]:
    return list(db.session.scalars(
        select(CompanyAddress).where(CompanyAddress.company_id == company_id)
        .order_by(CompanyAddress.created_at, CompanyAddress.id)))


def _answer(response, message: str | None, level: str = "success"):
    """A section's answer: a success changed something the timeline shows."""
    if not message:
        return response
    return activity_changed(response, message) if level == "success" else toast(response, message, level)


def _addresses_section(company: Company, *, status: int = 200, message: str | None = None,
                       level: str = "success", **ctx):
    ctx.setdefault("address_form", None)
    if not is_htmx():
        if status < 400 and ctx["address_form"] is None and message:
            return _back_to_company(company.id, message)
        return _company_page(company.id, status=status, **ctx)
    response = render("crm/records/_addresses.html", context=dict(company=company, addresses=_company_addresses(company.id), **ctx), status=status)
    return _answer(response, message, level)


@bp.get("/companies/<company_id>/addresses")
@require(SALES)
def company_addresses(company_id: str):
    return _addresses_section(get_or_404(Company, company_id))


@bp.get("/companies/<company_id>/addresses/new")
@require(SALES)
def new_address(company_id: str):
    return _addresses_section(get_or_404(Company, company_id), address_form=AddressForm(formdata=None))


@bp.post("/companies/<company_id>/addresses")
@require(SALES)
def add_address(company_id: str):
    company = get_or_404(Company, company_id)
    form = AddressForm()
    if form.validate_on_submit():
        try:
            address = addressing.add_address(company, form.values(), actor=current_user)
        except addressing.AddressError as exc:
            _field_error(form, exc)
        else:
            db.session.commit()
            return _addresses_section(company, message=f"Added {address.label}")
    return _addresses_section(company, address_form=form, status=422)


@bp.route("/addresses/<address_id>/edit", methods=["GET", "POST"])
@require(SALES)
def edit_address(address_id: str):
    address = get_or_404(CompanyAddress, address_id)
    company = address.company
    if not _posted():
        form = AddressForm(obj=address)
        form.type.data = address.type.value
        return _addresses_section(company, address_form=form, address_editing=address.id)
    form = AddressForm()
    if form.validate_on_submit():
        try:
            addressing.update_address(address, form.values(), actor=current_user)
        except addressing.AddressError as exc:
            _field_error(form, exc)
        else:
            db.session.commit()
            return _addresses_section(company, message=f"Saved {address.label}")
    return _addresses_section(company, address_form=form, address_editing=address.id, status=422)


@bp.post("/addresses/<address_id>/default/<kind>")
@require(SALES)
def make_default_address(address_id: str, kind: str):
    address = get_or_404(CompanyAddress, address_id)
    if kind not in addressing.KINDS:
        abort(404)
    try:
        addressing.make_default(address, kind, actor=current_user)
    except addressing.AddressError as exc:
        return _addresses_section(address.company, status=422, address_error=str(exc),
                                  message=str(exc), level="error")
    db.session.commit()
    return _addresses_section(address.company, message=f"{address.label} is the default {kind} address")


@bp.post("/addresses/<address_id>/delete")
@require(SALES)
def delete_address(address_id: str):
    address = get_or_404(CompanyAddress, address_id)
    company, label = address.company, address.label
    try:
        addressing.delete_address(address, actor=current_user)
    except addressing.AddressError as exc:
        return _addresses_section(company, status=422, address_error=str(exc), message=str(exc),
                                  level="error")
    db.session.commit()
    db.session.expire(company, ["addresses"])
    return _addresses_section(company, message=f"Deleted {label}")


def _posted() -> bool:
    return request.method == "POST"


def _field_error(form, exc) -> None:
    field = getattr(form, getattr(exc, "field", None) or "", None)
    target = field if field is not None else form.address_line1
    target.errors = [*target.errors, str(exc)]


# ---------------------------------------------------------------------------- notes


def _lead_choices(company_id) -> list[tuple[str, str]]:
    leads = db.session.scalars(select(Lead).where(Lead.company_id == company_id)
                               .options(selectinload(Lead.contact)).order_by(Lead.created_at.desc())).all()
    return [("", "The company in general")] + [
        (str(lead.id), f"Lead: {lead.contact.display_name} · {STAGE_LABELS[lead.stage]} · "
                       f"{lead.created_at:%b %-d}") for lead in leads]


def _note_form(company_id, *, blank: bool) -> NoteForm:
    form = NoteForm(formdata=None) if blank else NoteForm()
    form.lead_id.choices = _lead_choices(company_id)
    return form


def _notes_section(company: Company, *, status: int = 200, message: str | None = None, **ctx):
    ctx.setdefault("note_form", None)
    ctx.setdefault("note_edit_form", None)
    if not is_htmx():
        if status < 400 and message:
            return _back_to_company(company.id, message)
        return _company_page(company.id, status=status, **ctx)
    if ctx["note_form"] is None:
        ctx["note_form"] = _note_form(company.id, blank=True)
    response = render("crm/records/_notes.html", context=dict(company=company, notes=noting.company_notes(company.id), **ctx), status=status)
    return _answer(response, message)


@bp.get("/companies/<company_id>/notes")
@require(SALES)
def company_notes(company_id: str):
    return _notes_section(get_or_404(Company, company_id))


@bp.post("/companies/<company_id>/notes")
@require(SALES)
def add_note(company_id: str):
    company = get_or_404(Company, company_id)
    form = _note_form(company.id, blank=False)
    if form.validate_on_submit():
        lead = db.session.get(Lead, uuid.UUID(form.lead_id.data)) if form.lead_id.data else None
        try:
            noting.add_note(company, form.body.data, actor=current_user, lead=lead)
        except noting.NoteError as exc:
            form.body.errors = [*form.body.errors, str(exc)]
        else:
            db.session.commit()
            return _notes_section(company, message="Note added")
    return _notes_section(company, note_form=form, status=422)


@bp.route("/notes/<note_id>/edit", methods=["GET", "POST"])
@require(SALES)
def edit_note(note_id: str):
    note = get_or_404(Note, note_id)
    company = note.company
    if not noting.can_edit(note, current_user):
        abort_with(403, "Only the author of a note or an administrator can edit it.")
    if not _posted():
        form = NoteBodyForm(formdata=None, prefix="edit", data={"body": note.body})
        return _notes_section(company, note_edit_form=form, note_editing=note.id)
    form = NoteBodyForm(prefix="edit")
    if form.validate_on_submit():
        try:
            noting.edit_note(note, form.body.data, actor=current_user)
        except noting.NoteForbidden as exc:
            abort_with(403, str(exc))
        except noting.NoteError as exc:
            form.body.errors = [*form.body.errors, str(exc)]
        else:
            db.session.commit()
            return _notes_section(company, message="Note saved")
    return _notes_section(company, note_edit_form=form, note_editing=note.id, status=422)
