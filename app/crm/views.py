import uuid

from flask import abort, request
from flask_login import current_user

from app.auth.permissions import SALES, require
from app.crm import bp, queries
from app.htmx import render


def _uuid_or_404(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        abort(404)


@bp.get("/pipeline")
@require(SALES)
def pipeline():
    return render("crm/pipeline.html", columns=queries.pipeline_columns())


@bp.get("/companies")
@require(SALES)
def companies():
    q = (request.args.get("q") or "").strip()[:100]
    page = queries.companies_page(q or None, request.args.get("after"))
    return render("crm/companies.html", "company_rows", page=page, q=q)


@bp.get("/companies/<company_id>")
@require(SALES)
def company(company_id: str):
    company = queries.company_detail(_uuid_or_404(company_id))
    if company is None:
        abort(404)
    return render("crm/company.html", company=company)


@bp.get("/leads/<lead_id>")
@require(SALES)
def lead(lead_id: str):
    lead = queries.lead_detail(_uuid_or_404(lead_id))
    if lead is None:
        abort(404)
    return render("crm/lead.html", lead=lead, tags=queries.active_tags(lead))


@bp.get("/tasks")
@require(SALES)
def tasks():
    return render("crm/tasks.html", groups=queries.my_open_tasks(current_user.id))
