"""The companies and leads lists, and the leads list's bulk actions."""
import uuid

from flask import get_template_attribute, request, url_for
from flask_login import current_user

from app.auth.permissions import SALES, require
from app.crm import bp
from app.crm.models import CompanyStatus, TaxonomyType
from app.crm.pipeline import board, moves
from app.crm.records import lead_list, queries
from app.crm.records.edit_views import taxonomy_choices
from app.extensions import db
from app.htmx import add_trigger, render, wants_fragment
from app.template_helpers import ago, kept_render


@bp.get("/companies")
@require(SALES)
def companies():
    filters = queries.CompanyFilters.from_args(request.args)
    page = queries.companies_page(filters, request.args.get("after"), query=queries.list_rows())
    context = dict(page=page, filters=filters, q=filters.q or "", rows=company_rows(page.companies))
    if not wants_fragment():  # the filter bar's lists: only the whole page shows them
        context.update(reps=queries.assignable_users(), statuses=list(CompanyStatus), industries=[v for v, _ in taxonomy_choices(TaxonomyType.INDUSTRY) if v])
    return render("crm/records/companies.html", "company_rows", context=context)


def company_rows(companies) -> list:
    """The companies list's rows (queries.list_rows) as HTML, each kept by every value it shows
    (kept_render): the phone's formatting and the escaping run once per row and process."""
    macro = get_template_attribute("crm/records/_company_row.html", "company_row")
    company_url = url_for("crm.company", company_id="__ID__")
    return [kept_render(macro, company_url, str(c.id), c.name, c.status.value, c.industry, c.fleet_size,
                        f"{c.rep_first_name} {c.rep_last_name}".strip() if c.rep_id else None, c.phone)
            for c in companies]


def lead_rows(rows: list[lead_list.Row]) -> list:
    """The leads list's rows as HTML, each kept by every value it shows (kept_render): a list
    refreshed, or another rep's page of the same leads, renders only the rows that changed."""
    macro = get_template_attribute("crm/records/_lead_row.html", "lead_row")
    lead_url = url_for("crm.lead", lead_id="__ID__")
    labels = moves.STAGE_LABELS
    return [kept_render(macro, lead_url, str(r.id), r.name, r.contact_name, r.stage.value, labels[r.stage], r.source,
                        r.units, r.revenue, r.rep_name, r.days_in_stage, ago(r.last_activity_at))
            for r in rows]


@bp.get("/leads")
@require(SALES)
def leads():
    query = lead_list.ListQuery.from_args(request.args)
    page = lead_list.leads_page(query, current_user.id)
    # "Show more" answers the rows alone: no filter dropdowns to read
    choices = None if wants_fragment() else board.filter_choices()  # the board's filters
    return render("crm/records/leads.html", "lead_rows", context=dict(page=page, rows=lead_rows(page.rows), query=query, choices=choices, labels=moves.STAGE_LABELS, sorts=list(lead_list.SORTS)))


@bp.post("/leads/bulk")
@require(SALES)
def leads_bulk():
    """Assign a rep, add a tag or move the stage of the selected leads."""
    ids = []
    for raw in request.form.getlist("lead_ids"):
        try:
            ids.append(uuid.UUID(raw))
        except ValueError:
            continue
    action = request.form.get("action", "")
    if not ids:
        return add_trigger(render("crm/records/_bulk_result.html", context=dict(message="Select at least one lead."), status=422),
                           {"toast": {"message": "Select at least one lead.", "level": "error"}})
    rep = request.form.get("rep_id") or None
    try:
        result = lead_list.bulk_apply(
            ids[:500], action, actor=current_user, rep_id=uuid.UUID(rep) if rep else None,
            tag=request.form.get("tag") or None, stage=request.form.get("stage") or None,
            lost_reason=request.form.get("lost_reason"))
    except (ValueError, moves.MoveError) as exc:
        return add_trigger(render("crm/records/_bulk_result.html", context=dict(message=str(exc)), status=422),
                           {"toast": {"message": str(exc), "level": "error"}})
    db.session.commit()
    message = f"Updated {result.done} lead{'s' if result.done != 1 else ''}."
    if result.skipped:
        message += f" Skipped {len(result.skipped)}: " + "; ".join(result.skipped[:5])
    response = render("crm/records/_bulk_result.html", context=dict(message=message))
    return add_trigger(response, {"toast": {"message": message, "level": "success"}, "leadsChanged": True})
