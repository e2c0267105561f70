"""/reports and its CSVs; the rows behind a number; the settings the homes and reports read."""
from __future__ import annotations

from datetime import UTC, datetime

from flask import Response, abort, current_app, flash, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import select

from app.auth.models import User, UserRole
from app.auth.permissions import INBOX, INVOICES, SALES, SETTINGS, require
from app.crm.models import TaxonomyType, TaxonomyValue
from app.extensions import db
from app.fulfillment.models import Device
from app.htmx import render
from app.reports import bp, drill, exports, saved_views
from app.reports import settings as report_settings
from app.reports.activity import queries as activity_report
from app.reports.filters import PRESETS, BadReportArgs, ReportFilters
from app.reports.forms import LostReasonsForm, LowStockForm, ProbabilitiesForm, SavedViewForm
from app.reports.money import queries as money_report
from app.reports.pipeline import queries as pipeline_report
from app.reports.sources import queries as sources_report
from app.reports.tables import csv_lines, table_csv
from app.reports.won_lost import queries as won_lost_report

REPORTS = {"pipeline": "Pipeline", "won_lost": "Won & lost", "sources": "Sources", "activity": "Rep activity",
           "money": "Money"}


def _today():
    return datetime.now(UTC).date()


def _build(name: str, f: ReportFilters) -> tuple[list, dict]:
    if name == "pipeline":
        return pipeline_report.build(f), {}
    if name == "won_lost":
        return won_lost_report.build(f)
    if name == "sources":
        return sources_report.build(f), {}
    if name == "activity":
        return activity_report.build(f), {}
    return money_report.build(f, _today())


def _filter_choices() -> dict:
    reps = db.session.execute(
        select(User.id, User.first_name, User.last_name).where(
            User.role.in_((UserRole.REP, UserRole.NICK, UserRole.ADMIN)))
        .order_by(User.is_active.desc(), User.first_name, User.last_name)).all()
    sources = db.session.scalars(select(TaxonomyValue.value).where(
        TaxonomyValue.type == TaxonomyType.SOURCE, TaxonomyValue.active.is_(True))
        .order_by(TaxonomyValue.sort_order, TaxonomyValue.value)).all()
    return {"reps": [(str(i), f"{a} {b}") for i, a, b in reps], "sources": sources, "presets": PRESETS}


def _refused(template: str, error: str, **context):
    context.update(error=error, filters=None, args=request.args, reports=REPORTS, **_filter_choices())
    return render(template, context=context, status=422)


def _report(name: str):
    try:
        f = ReportFilters.from_args(request.args, current_user)
        tables, summary = _build(name, f)
    except BadReportArgs as exc:
        return _refused("reports/report.html", str(exc), report=name)
    return render("reports/report.html", context=dict(
        report=name, reports=REPORTS, filters=f, args=request.args, tables=tables, summary=summary, error=None,
        **_filter_choices()))


@bp.get("/reports")
@require(SALES)
def index():
    return _report("pipeline")


@bp.get("/reports/pipeline")
@require(SALES)
def pipeline():
    return _report("pipeline")


@bp.get("/reports/won-lost")
@require(SALES)
def won_lost():
    return _report("won_lost")


@bp.get("/reports/sources")
@require(SALES)
def sources():
    return _report("sources")


@bp.get("/reports/activity")
@require(SALES)
def activity():
    return _report("activity")


@bp.get("/reports/money")
@require(SALES)
def money():
    return _report("money")


def _csv(body, filename: str) -> Response:
    return Response(body, mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"',
                             "X-Content-Type-Options": "nosniff"})


def _streamed(lines):
    """Every row, a line at a time, read after the view returned: in an app context of its
    own (its own session, closed when the stream ends). The header goes first, before that
    context is entered: a client that only peeks at the body (a test client checking the
    status) leaves nothing open."""
    app = current_app._get_current_object()
    header = next(lines)

    def body():
        yield header
        context = app.app_context()
        context.push()
        try:
            yield from lines
        finally:
            try:
                context.pop()  # its session is removed here
            except AssertionError:
                # closed later by the garbage collector, under another context: the teardown ran
                pass

    return body()


@bp.get("/reports/<report>/export.csv")
@require(SALES)
def export(report: str):
    if report not in REPORTS:
        abort(404)
    try:
        f = ReportFilters.from_args(request.args, current_user)
        tables, _ = _build(report, f)
    except BadReportArgs as exc:
        return _refused("reports/report.html", str(exc), report=report)
    table = next((t for t in tables if t.key == request.args.get("table")), None)
    if table is None:
        abort(404)
    return _csv("".join(table_csv(table)), f"{report}-{table.key}-{f.first_day}-{f.last_day}.csv")


def _drill_args():
    return request.args.get("set") or "", (request.args.get("value") or "")[:200]


@bp.get("/reports/leads")
@require(SALES)
def leads():
    set_, value = _drill_args()
    try:
        f = ReportFilters.from_args(request.args, current_user)
        rows, total = drill.leads(f, set_, value)
    except BadReportArgs as exc:
        return _refused("reports/rows.html", str(exc), kind="leads")
    return render("reports/rows.html", context=dict(
        kind="leads", title=drill.LEAD_SETS[set_], value=drill.describe(set_, value), filters=f, rows=rows,
        total=total, columns=drill.LEAD_COLUMNS, visible=drill.lead_page_columns(set_), shown=drill.SHOWN,
        error=None, reports=REPORTS, args=request.args))


@bp.get("/reports/leads.csv")
@require(SALES)
def leads_csv():
    set_, value = _drill_args()
    try:
        f = ReportFilters.from_args(request.args, current_user)
        drill.lead_where(f, set_, value)  # refuse bad arguments before the stream starts
    except BadReportArgs as exc:
        return _refused("reports/rows.html", str(exc), kind="leads")
    header = [c.label for c in drill.LEAD_COLUMNS]
    return _csv(_streamed(csv_lines(header, drill.leads_csv_rows(f, set_, value))),
                f"leads-{set_}-{f.first_day}-{f.last_day}.csv")


@bp.get("/reports/invoices")
@require(SALES)
def invoices():
    set_, value = _drill_args()
    try:
        f = ReportFilters.from_args(request.args, current_user)
        rows, total = drill.invoices(f, set_, value, _today())
    except BadReportArgs as exc:
        return _refused("reports/rows.html", str(exc), kind="invoices")
    return render("reports/rows.html", context=dict(
        kind="invoices", title=drill.INVOICE_SETS[set_], value=drill.describe(set_, value), filters=f, rows=rows,
        total=total, columns=drill.INVOICE_COLUMNS, visible=list(range(len(drill.INVOICE_COLUMNS))),
        shown=drill.SHOWN, error=None, reports=REPORTS, args=request.args))


@bp.get("/reports/invoices.csv")
@require(SALES)
def invoices_csv():
    set_, value = _drill_args()
    try:
        f = ReportFilters.from_args(request.args, current_user)
        drill.invoice_where(f, set_, value, _today())
    except BadReportArgs as exc:
        return _refused("reports/rows.html", str(exc), kind="invoices")
    header = [c.label for c in drill.INVOICE_COLUMNS]
    return _csv(_streamed(csv_lines(header, drill.invoices_csv_rows(f, set_, value, _today()))),
                f"invoices-{set_}-{f.first_day}-{f.last_day}.csv")


# ------------------------------------------------------------------ lists as CSV


@bp.get("/export/leads.csv")
@require(SALES)
def export_leads():
    from app.crm.records.lead_list import ListQuery

    query = ListQuery.from_args(request.args)
    return _csv(_streamed(csv_lines(exports.LEAD_HEADER, exports.lead_rows(query, current_user.id))),
                f"leads-{_today()}.csv")


@bp.get("/export/companies.csv")
@require(SALES)
def export_companies():
    from app.crm.records.queries import CompanyFilters

    filters = CompanyFilters.from_args(request.args)
    return _csv(_streamed(csv_lines(exports.COMPANY_HEADER, exports.company_rows(filters))),
                f"companies-{_today()}.csv")


@bp.get("/export/invoices.csv")
@require(INVOICES)
def export_invoices():
    filters = exports.InvoiceFilters.from_args(request.args)
    return _csv(_streamed(csv_lines(exports.INVOICE_HEADER, exports.invoice_rows(filters))),
                f"invoices-{_today()}.csv")


@bp.get("/export/tasks.csv")
@require(SALES)
def export_tasks():
    from app.crm.tasks.queries import TaskFilters

    filters = TaskFilters.from_args(request.args)
    return _csv(_streamed(csv_lines(exports.TASK_HEADER, exports.task_rows(filters, current_user.id))),
                f"tasks-{_today()}.csv")


@bp.get("/export/inbox.csv")
@require(INBOX)
def export_inbox():
    from app.inbox.queue.queries import QueueFilter

    f = QueueFilter.from_args(request.args)
    return _csv(_streamed(csv_lines(exports.INBOX_HEADER, exports.inbox_rows(f, current_user.id))),
                f"inbox-{_today()}.csv")


# ------------------------------------------------------------------ saved views


def _view_list_url(view) -> str:
    return f"{url_for(saved_views.LISTS[view.list_name])}?{saved_views.url_query(view)}"


@bp.post("/views")
@require(SALES)
def save_view():
    form = SavedViewForm()
    if form.validate_on_submit():
        try:
            view = saved_views.save_view(user=current_user, list_name=form.list_name.data, name=form.name.data,
                                         query=form.query.data or "", shared=form.shared.data,
                                         make_default=form.make_default.data)
        except saved_views.SavedViewError as exc:
            form.name.errors = [*form.name.errors, str(exc)]
        else:
            db.session.commit()
            flash(f"Saved the view “{view.name}”.", "success")
            return redirect(_view_list_url(view), code=303)
    return render("reports/saved_view_form.html", context=dict(form=form), status=422)


def _own_view(view_id: str):
    from app.errors import get_or_404
    from app.reports.models import SavedView

    view = get_or_404(SavedView, view_id)
    if view.user_id != current_user.id and not view.shared:
        abort(404)
    if view.user_id != current_user.id:
        abort(403)
    return view


@bp.post("/views/<view_id>/default")
@require(SALES)
def default_view(view_id: str):
    view = _own_view(view_id)
    saved_views.set_default(view, user=current_user)
    db.session.commit()
    flash(f"“{view.name}” opens when you open the list.", "success")
    return redirect(_view_list_url(view), code=303)


@bp.post("/views/<view_id>/delete")
@require(SALES)
def delete_view(view_id: str):
    view = _own_view(view_id)
    list_url = url_for(saved_views.LISTS[view.list_name], view="all")
    saved_views.delete_view(view, user=current_user)
    db.session.commit()
    flash("View deleted.", "success")
    return redirect(list_url, code=303)


# ------------------------------------------------------------------ settings


@bp.route("/settings/pipeline/probabilities", methods=["GET", "POST"])
@require(SETTINGS)
def probabilities():
    current = report_settings.stage_probabilities()
    form = ProbabilitiesForm(data={s.value.lower(): p for s, p in current.items()})
    if form.validate_on_submit():
        values = {stage: getattr(form, stage.value.lower()).data for stage in report_settings.OPEN_STAGES}
        if report_settings.set_stage_probabilities(values, actor=current_user):
            db.session.commit()
            flash("Stage probabilities saved.", "success")
        return redirect(url_for("reports.probabilities"))
    return render("reports/settings_probabilities.html", context=dict(
        form=form, stages=report_settings.OPEN_STAGES), status=422 if request.method == "POST" else 200)


@bp.route("/settings/low-stock", methods=["GET", "POST"])
@require(SETTINGS)
def low_stock():
    form = LowStockForm()
    if form.validate_on_submit():
        if report_settings.set_low_stock_threshold(form.model.data, form.threshold.data, actor=current_user):
            db.session.commit()
            flash("Low-stock warning saved.", "success")
        return redirect(url_for("reports.low_stock"))
    models = db.session.scalars(select(Device.model).distinct().order_by(Device.model)).all()
    return render("reports/settings_low_stock.html", context=dict(
        form=form, thresholds=report_settings.low_stock_thresholds(), models=models),
        status=422 if request.method == "POST" else 200)


@bp.route("/settings/lost-reasons", methods=["GET", "POST"])
@require(SETTINGS)
def lost_reasons():
    form = LostReasonsForm(data={"reasons": "\n".join(report_settings.lost_reasons())})
    if form.validate_on_submit():
        if report_settings.set_lost_reasons(report_settings.clean_reasons(form.reasons.data), actor=current_user):
            db.session.commit()
            flash("Lost reasons saved.", "success")
        return redirect(url_for("reports.lost_reasons"))
    return render("reports/settings_lost_reasons.html", context=dict(form=form),
                  status=422 if request.method == "POST" else 200)
