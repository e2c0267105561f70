"""Reports (/reports): pipeline, won & lost, sources, rep activity, money; the rows behind
each number; CSV of every table. Also the settings they read (app.reports.settings)."""
from flask import Blueprint

bp = Blueprint("reports", __name__)


@bp.app_template_global()
def lost_reason_choices() -> list[str]:
    """The lost dialog's suggestions (Settings → Lost reasons), read once per request."""
    from flask import g

    from app.reports.settings import lost_reasons

    if "lost_reason_choices" not in g:
        g.lost_reason_choices = lost_reasons()
    return g.lost_reason_choices


from app.reports import views  # noqa: E402,F401


@bp.app_template_filter("report_cell")
def report_cell(value, kind: str) -> str:
    from app.reports.tables import display

    return display(value, kind)
