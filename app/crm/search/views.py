"""The header search page (its results block answers the search box's htmx requests)."""
from flask import request, url_for

from app.auth.permissions import SALES, require
from app.crm import bp
from app.crm.pipeline import moves
from app.crm.search import services as searching
from app.htmx import render


@bp.get("/search")
@require(SALES)
def search():
    results = searching.search(request.args.get("q", ""))
    # the results' link patterns, built once per response instead of once per result
    urls = {"company": url_for("crm.company", company_id="__ID__"), "contact": url_for("crm.contact", contact_id="__ID__"),
            "lead": url_for("crm.lead", lead_id="__ID__")}
    return render("crm/search/search.html", "results", context=dict(results=results, labels=moves.STAGE_LABELS, urls=urls))
