"""The header search page (its results block answers the search box's htmx requests)."""
from flask import request

from app.auth.permissions import SALES, require
from app.crm import bp
from app.crm.pipeline import moves
from app.crm.search import services as searching
from app.htmx import render


@bp.get("/search")
@require(SALES)
def search():
    results = searching.search(request.args.get("q", ""))
    return render("crm/search/search.html", "results", context=dict(results=results, labels=moves.STAGE_LABELS))
