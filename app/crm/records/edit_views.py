"""Company, contact and lead forms, duplicate warnings and merges."""
import uuid

from flask import abort, flash, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import select

from app.auth.permissions import MERGE_RECORDS, SALES, can, require
from app.crm import bp
from app.crm.models import Company, CompanyStatus, Contact, LeadStage, TaxonomyType, TaxonomyValue
from app.crm.pipeline.moves import STAGE_LABELS
from app.crm.records import queries
from app.crm.records import services as records
from app.crm.records.forms import CompanyForm, ContactForm, LeadForm
from app.errors import get_or_404, uuid_or_404
from app.extensions import db
from app.htmx import render


def taxonomy_choices(kind: TaxonomyType, current: str | None = None):
    values = db.session.scalars(select(TaxonomyValue.value).where(
        TaxonomyValue.type == kind, TaxonomyValue.active.is_(True)).order_by(TaxonomyValue.sort_order)).all()
    choices = [("", "—")] + [(v, v) for v in values]
    if current and current not in values:  # an inactive value stays on old records
        choices.append((current, current))
    return choices


def _company_form(company: Company | None = None) -> CompanyForm:
    form = CompanyForm(obj=company) if request.method == "GET" else CompanyForm()
    form.industry.choices = taxonomy_choices(TaxonomyType.INDUSTRY, company.industry if company else None)
    form.source.choices = taxonomy_choices(TaxonomyType.SOURCE, company.source if company else None)
    form.assigned_rep_id.choices = [("", "Unassigned")] + [(str(u.id), u.full_name)
                                                            for u in queries.assignable_users()]
    if request.method == "GET":
        if company is not None:
            form.assigned_rep_id.data = str(company.assigned_rep_id or "")
            form.status.data = company.status.value
        else:
            form.assigned_rep_id.data = str(current_user.id)
    return form


def _company_data(form: CompanyForm) -> dict:
    return {
        "name": form.name.data, "website": form.website.data, "phone": form.phone.data,
        "industry": form.industry.data, "fleet_size": form.fleet_size.data, "source": form.source.data,
        "assigned_rep_id": uuid.UUID(form.assigned_rep_id.data) if form.assigned_rep_id.data else None,
        "status": CompanyStatus(form.status.data), "google_place_id": form.google_place_id.data,
        "taxable": form.taxable.data, "sales_note": form.sales_note.data,
    }


def _attempt(form, save, data: dict, existing):
    """Run a records.save_* service for a form: (saved, duplicates, form-level error).
    A refused field gets its message under that field."""
    kind = "company" if save is records.save_company else "contact"
    try:
        saved, duplicates = save(data, actor=current_user, allow_duplicates=form.confirm_duplicate.data == "yes",
                                 **{kind: existing})
        return saved, duplicates, None
    except records.RecordError as exc:
        if exc.field and hasattr(form, exc.field):
            getattr(form, exc.field).errors.append(str(exc))
        return None, [], str(exc)


def _save_company_view(company: Company | None):
    form = _company_form(company)
    duplicates, error = [], None
    if form.validate_on_submit():
        saved, duplicates, error = _attempt(form, records.save_company, _company_data(form), company)
        if saved is not None:
            db.session.commit()
            flash(f"{saved.name} is saved.", "success")
            return redirect(url_for("crm.company", company_id=saved.id))
        form.confirm_duplicate.data = "yes" if duplicates and not any(d.blocking for d in duplicates) else ""
    status = 422 if request.method == "POST" else 200
    return render("crm/records/company_form.html", "company_form", context=dict(form=form, company=company, duplicates=duplicates, error=error), status=status)


@bp.route("/companies/new", methods=["GET", "POST"])
@require(SALES)
def new_company():
    return _save_company_view(None)


@bp.route("/companies/<company_id>/edit", methods=["GET", "POST"])
@require(SALES)
def edit_company(company_id):
    return _save_company_view(get_or_404(Company, company_id))


@bp.get("/companies/check-duplicates")
@require(SALES)
def check_company_duplicates():
    """Inline warning while typing the name (htmx, on change)."""
    exclude = request.args.get("exclude")
    duplicates = records.company_duplicates(
        name=request.args.get("name"), phone=request.args.get("phone"),
        google_place_id=request.args.get("google_place_id"),
        exclude_id=uuid_or_404(exclude) if exclude else None)
    return render("crm/records/_duplicates.html", context=dict(duplicates=duplicates, confirmable=False))


def _save_contact_view(company: Company | None, contact: Contact | None):
    form = ContactForm(obj=contact) if request.method == "GET" else ContactForm()
    duplicates, error = [], None
    if form.validate_on_submit():
        data = {k: getattr(form, k).data for k in ("first_name", "last_name", "title", "email", "phone")}
        if company is not None:
            data["company_id"] = company.id
        saved, duplicates, error = _attempt(form, records.save_contact, data, contact)
        if saved is not None:
            db.session.commit()
            flash(f"{saved.display_name} is saved.", "success")
            return redirect(url_for("crm.contact", contact_id=saved.id))
        form.confirm_duplicate.data = "yes" if duplicates and not any(d.blocking for d in duplicates) else ""
    status = 422 if request.method == "POST" else 200
    return render("crm/records/contact_form.html", "contact_form", context=dict(form=form, company=company, contact=contact, duplicates=duplicates, error=error), status=status)


@bp.route("/companies/<company_id>/contacts/new", methods=["GET", "POST"])
@require(SALES)
def new_contact(company_id):
    return _save_contact_view(get_or_404(Company, company_id), None)


@bp.route("/contacts/<contact_id>/edit", methods=["GET", "POST"])
@require(SALES)
def edit_contact(contact_id):
    contact = db.session.get(Contact, uuid_or_404(contact_id))
    if contact is None:
        abort(404)
    return _save_contact_view(contact.company, contact)


@bp.route("/companies/<company_id>/leads/new", methods=["GET", "POST"])
@require(SALES)
def new_lead(company_id):
    company = get_or_404(Company, company_id)
    form = LeadForm()
    form.contact_id.choices = [(str(c.id), c.display_name) for c in company.contacts]
    form.stage.choices = [(s.value, STAGE_LABELS[s]) for s in LeadStage]
    form.source.choices = taxonomy_choices(TaxonomyType.SOURCE)
    if not form.contact_id.choices:
        flash("Add a contact first: every lead needs one.", "warning")
        return redirect(url_for("crm.new_contact", company_id=company.id))
    if form.validate_on_submit():
        try:
            lead = records.open_lead(company, contact_id=uuid.UUID(form.contact_id.data),
                                     stage=LeadStage(form.stage.data), source=form.source.data or None,
                                     estimated_units=form.estimated_units.data,
                                     estimated_revenue=form.estimated_revenue.data, actor=current_user)
        except records.RecordError as exc:
            getattr(form, exc.field or "stage").errors.append(str(exc))
        else:
            db.session.commit()
            return redirect(url_for("crm.lead", lead_id=lead.id))
    status = 422 if request.method == "POST" else 200
    return render("crm/records/lead_form.html", context=dict(form=form, company=company), status=status)


def merge_posted(merge, survivor, other, survivor_name: str, *, again: str, done: str):
    """The confirmed merge of `other` into `survivor` (companies or contacts)."""
    if other is None:
        abort(422)
    try:
        moved = merge(survivor, other, actor=current_user)
    except records.RecordError as exc:
        flash(str(exc), "error")
        return redirect(again)
    db.session.commit()
    total = sum(moved.values())
    flash(f"Merged. {total} related record{'s' if total != 1 else ''} moved to {survivor_name}.", "success")
    return redirect(done)


@bp.route("/companies/<company_id>/merge", methods=["GET", "POST"])
@require(SALES)
def merge_company(company_id):
    """Merge another company into this one (this one survives)."""
    company = get_or_404(Company, company_id)
    other = db.session.get(Company, uuid_or_404(request.values["with"])) if request.values.get("with") else None
    if request.method == "POST":
        if not can(current_user, MERGE_RECORDS):
            abort(403)
        return merge_posted(records.merge_companies, company, other, company.name,
                            again=url_for("crm.merge_company", company_id=company.id),
                            done=url_for("crm.company", company_id=company.id))
    candidates = records.company_merge_candidates(company)
    counts = {}
    if other is not None:
        counts = {"contacts": len(other.contacts), "leads": len(other.leads), "addresses": len(other.addresses)}
    return render("crm/records/merge.html", context=dict(kind="company", record=company, other=other, candidates=candidates, counts=counts, may_merge=can(current_user, MERGE_RECORDS), refused=records.MERGE_REFUSED["company"]))


def merge_requested(survivor, other, *, link: str, done: str):
    """A rep's request for a merge they may not do: a task for an admin."""
    if other is None:
        abort(422)
    try:
        records.request_merge(survivor, other, actor=current_user, link=link, note=request.form.get("note"))
    except records.RecordError as exc:
        flash(str(exc), "error")
        return redirect(link)
    db.session.commit()
    flash("Asked an admin to merge them: it is on their task list.", "success")
    return redirect(done)


@bp.post("/companies/<company_id>/merge/request")
@require(SALES)
def request_company_merge(company_id):
    company = get_or_404(Company, company_id)
    other = db.session.get(Company, uuid_or_404(request.form["with"])) if request.form.get("with") else None
    return merge_requested(company, other, done=url_for("crm.company", company_id=company.id),
                           link=url_for("crm.merge_company", company_id=company.id, **({"with": other.id} if other else {})))
