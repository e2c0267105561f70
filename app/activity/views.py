import uuid

from flask import abort, request
from flask_login import current_user, login_required

from app.activity import bp, services
from app.auth.permissions import INVOICES, SALES, SETTINGS, can
from app.htmx import render

# Each subject's timeline is part of a page: reading it needs a permission of that page
# (a company's also shows on its invoices; a user's actions are the settings' user admin).
SUBJECT_PERMISSIONS = {
    "lead_id": (SALES,),
    "company_id": (SALES, INVOICES),
    "contact_id": (SALES,),
    "user_id": (SETTINGS,),
}


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
    scope = {name: _uuid_arg(name) for name in SUBJECT_PERMISSIONS}
    if not any(scope.values()):
        abort(400)
    for name, value in scope.items():
        if value and not any(can(current_user, p) for p in SUBJECT_PERMISSIONS[name]):
            abort(403)
    page = services.timeline(cursor=request.args.get("cursor"), **scope)
    return render("activity/_timeline.html", context=dict(page=page, scope={k: v for k, v in scope.items() if v}))
