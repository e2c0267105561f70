import uuid

from flask import abort, request
from flask_login import login_required

from app.activity import bp, services
from app.htmx import render


def _uuid_arg(name: str):
    raw = request.args.get(name)
    if not raw:
        return None
    try:
        return uuid.UUID(raw)
    except ValueError:
        abort(400)


@bp.get("/timeline")
@login_required
def timeline():
    """The timeline partial: newest first, 'Show older' loads the next page."""
    scope = {name: _uuid_arg(name) for name in ("lead_id", "company_id", "contact_id", "user_id")}
    if not any(scope.values()):
        abort(400)
    page = services.timeline(cursor=request.args.get("cursor"), **scope)
    return render("activity/_timeline.html", context=dict(page=page, scope={k: v for k, v in scope.items() if v}))
