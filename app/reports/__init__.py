"""Reports (/reports): pipeline, won & lost, sources, rep activity, money; the rows behind
each number; CSV of every table. Also the settings they read (app.reports.settings)."""
from flask import Blueprint, g

bp = Blueprint("reports", __name__)


@bp.app_template_global()
def lost_reason_choices() -> list[str]:
    """The lost dialog's suggestions (Settings → Lost reasons), read once per request."""
    from app.reports.settings import lost_reasons

    if "lost_reason_choices" not in g:
        g.lost_reason_choices = lost_reasons()
    return g.lost_reason_choices


def lost_reason_choices_from(stored) -> None:
    """For this request, the suggestions from the setting's stored value (None: not set), read
    by a page in its own statement (the lead page's: one statement fewer)."""
    from app.reports.settings import LOST_REASONS, lost_reasons

    g.lost_reason_choices = lost_reasons({LOST_REASONS: stored} if stored is not None else {})


@bp.app_template_global()
def saved_views_of(list_name: str):
    """The views a list shows as tabs (the user's own and the shared ones): read once per
    request, so a bare list URL's default-view check and its tabs are one statement."""
    from flask_login import current_user

    from app.reports.saved_views import visible_views

    key = f"saved_views_{list_name}"
    if key not in g:
        setattr(g, key, visible_views(list_name, current_user.id))
    return getattr(g, key)


@bp.before_app_request
def open_default_view():
    """A list opened with no filter opens its user's default view, if they have one."""
    from flask import redirect, request, url_for
    from flask_login import current_user

    from app.reports import saved_views

    if request.method != "GET" or request.args or request.headers.get("HX-Request"):
        return None
    list_name = next((name for name, endpoint in saved_views.LISTS.items() if endpoint == request.endpoint), None)
    if list_name is None or not current_user.is_authenticated:
        return None
    view = next((v for v in saved_views_of(list_name) if v.user_id == current_user.id and v.is_default), None)
    if view is None:
        return None
    return redirect(f"{url_for(request.endpoint)}?{saved_views.url_query(view)}")


from app.reports import export_views, views  # noqa: E402,F401


@bp.app_template_filter("report_cell")
def report_cell(value, kind: str) -> str:
    from app.reports.tables import display

    return display(value, kind)
