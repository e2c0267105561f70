"""The companies and leads lists, and the leads list's bulk actions."""
import uuid

from flask import request, url_for
from flask_login import current_user

from app.auth.permissions import SALES, require
from app.crm import bp
from app.crm.models import CompanyStatus, TaxonomyType
from app.crm.pipeline import board, moves
from app.crm.records import lead_list, queries
from app.crm.records.edit_views import taxonomy_choices
from app.extensions import db
from app.htmx import add_trigger, render, wants_fragment


@bp.get("/companies")
@require(SALES)
def companies():
    filters = queries.CompanyFilters.from_args(request.args)
    page = queries.companies_page(filters, request.args.get("after"), query=queries.list_rows())
    context = dict(page=page, filters=filters, q=filters.q or "", company_url=url_for("crm.company", company_id="__ID__"))
    if not wants_fragment():  # the filter bar's lists: only the whole page shows them
        context.update(reps=queries.assignable_users(), statuses=list(CompanyStatus), industries=[v for v, _ in taxonomy_choices(TaxonomyType.INDUSTRY) if v])
    return render("crm/records/companies.html", "company_rows", context=context)


@bp.get("/leads")
@require(SALES)
def leads():
    query = lead_list.ListQuery.from_args(request.args)
    page = lead_list.leads_page(query, current_user.id)
    return render("crm/records/leads.html", "lead_rows", context=dict(page=page, query=query, choices=board.filter_choices(), labels=moves.STAGE_LABELS, reps=queries.assignable_users(), sorts=list(lead_list.SORTS)))


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
