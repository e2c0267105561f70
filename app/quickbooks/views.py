"""Settings → QuickBooks (admins): connect / disconnect, the sync ledger (filter, retry, resolve),
"sync now"."""
from __future__ import annotations

import logging

from flask import abort, flash, redirect, request, session, url_for
from flask_login import current_user
from sqlalchemy import func, select

from app.auth.permissions import SETTINGS, require
from app.errors import uuid_or_404
from app.extensions import db
from app.htmx import render
from app.queue import enqueue
from app.quickbooks import bp, connection, ledger, limits
from app.quickbooks.forms import LedgerFilterForm, ResolveForm
from app.quickbooks.models import LedgerEntity, LedgerState, SyncLedgerRow
from app.security import CSP

log = logging.getLogger("crm.quickbooks")
STATE_KEY = "qbo_oauth_state"
PAGE = 100


def _page_context(state_filter: str | None) -> dict:
    live = connection.live_connection()
    counts = dict(db.session.execute(select(SyncLedgerRow.state, func.count()).group_by(SyncLedgerRow.state)).all())
    stmt = select(SyncLedgerRow).order_by(SyncLedgerRow.created_at.desc()).limit(PAGE)
    if state_filter:
        stmt = stmt.where(SyncLedgerRow.state == LedgerState(state_filter))
    rows = list(db.session.scalars(stmt))
    labels = _labels(rows)
    last_push = db.session.scalar(select(func.max(SyncLedgerRow.synced_at)))
    backoff = None
    if live is not None:
        try:
            backoff = limits.backoff_until(connection.realm_of(live))
        except Exception:  # Redis away: the page still shows the ledger
            backoff = None
    return {"live": live, "configured": connection.is_configured(), "missing": connection.missing_settings(),
            "environment": connection.environment(), "counts": {s: counts.get(s, 0) for s in LedgerState},
            "rows": rows, "labels": labels, "last_push": last_push, "backoff_until": backoff, "states": list(LedgerState),
            "filter_form": LedgerFilterForm(request.args), "state_filter": state_filter or "",
            "resolve_form": ResolveForm()}


def _with_intuit_form_action(response):
    """The connect button's POST is answered with a redirect to Intuit's authorisation page:
    the page's CSP lets its forms go there (and nowhere else new)."""
    response.headers["Content-Security-Policy"] = CSP.replace(
        "form-action 'self'", f"form-action 'self' {connection.authorization_origin()}", 1)
    return response


def _labels(rows: list[SyncLedgerRow]) -> dict:
    """What each row is about, in words (a company's name, an invoice's number, a payment's
    amount): three statements for the whole page."""
    from app.billing.models import Invoice, Payment
    from app.crm.models import Company

    ids = {entity: [r.local_id for r in rows if r.entity is entity] for entity in LedgerEntity}
    company_ids = {r.company_id for r in rows if r.company_id} | set(ids[LedgerEntity.CUSTOMER])
    companies = dict(db.session.execute(select(Company.id, Company.name).where(Company.id.in_(company_ids))).all()) \
        if company_ids else {}
    invoices = dict(db.session.execute(select(Invoice.id, Invoice.invoice_number).where(
        Invoice.id.in_(ids[LedgerEntity.INVOICE]))).all()) if ids[LedgerEntity.INVOICE] else {}
    money_ids = ids[LedgerEntity.PAYMENT] + ids[LedgerEntity.REFUND]
    payments = {p.id: p for p in db.session.execute(select(Payment.id, Payment.amount, Invoice.invoice_number)
                                                     .join(Invoice, Invoice.id == Payment.invoice_id)
                                                     .where(Payment.id.in_(money_ids))).all()} if money_ids else {}
    labels = {}
    for row in rows:
        company = companies.get(row.company_id) or companies.get(row.local_id) or "a company"
        if row.entity is LedgerEntity.CUSTOMER:
            title = f"Customer {company}"
        elif row.entity is LedgerEntity.INVOICE:
            title = f"Invoice {invoices.get(row.local_id, '')}".strip()
        else:
            payment = payments.get(row.local_id)
            kind = "Refund" if row.entity is LedgerEntity.REFUND else "Payment"
            title = f"{kind} ${abs(payment.amount):,.2f} on {payment.invoice_number}" if payment else kind
        labels[row.id] = {"title": title, "company": company}
    return labels


@bp.get("/settings/quickbooks")
@require(SETTINGS)
def settings_page():
    form = LedgerFilterForm(request.args)
    state = form.state.data if form.validate() else None
    return _with_intuit_form_action(render("quickbooks/settings.html", context=_page_context(state or None)))


@bp.post("/settings/quickbooks/connect")
@require(SETTINGS)
def connect():
    if not connection.is_configured():
        flash("QuickBooks is not configured: set " + ", ".join(connection.missing_settings()) + ".", "error")
        return redirect(url_for("quickbooks.settings_page"), code=303)
    url, state = connection.start_connect()
    session[STATE_KEY] = state
    return redirect(url, code=303)


@bp.get("/settings/quickbooks/callback")
@require(SETTINGS)
def callback():
    try:
        connection.finish_connect(code=request.args.get("code"), realm_id=request.args.get("realmId"),
                                  state=request.args.get("state"), expected_state=session.pop(STATE_KEY, None),
                                  error=request.args.get("error"), actor=current_user)
    except connection.ConnectRefused as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("quickbooks.settings_page"), code=303)
    db.session.commit()
    log.info("quickbooks connected by user_id=%s", current_user.id)
    flash("QuickBooks is connected. Products are being pulled.", "success")
    return redirect(url_for("quickbooks.settings_page"), code=303)


@bp.post("/settings/quickbooks/disconnect")
@require(SETTINGS)
def disconnect():
    if connection.disconnect(actor=current_user):
        db.session.commit()
        flash("QuickBooks is disconnected and its authorisation revoked.", "success")
    return redirect(url_for("quickbooks.settings_page"), code=303)


@bp.post("/settings/quickbooks/sync")
@require(SETTINGS)
def sync_now():
    if connection.live_connection() is None:
        flash("Connect QuickBooks first.", "error")
    else:
        enqueue("default", "app.quickbooks.jobs.periodic_sync")
        db.session.commit()
        flash("Sync asked for: products are pulled and waiting pushes sent.", "success")
    return redirect(url_for("quickbooks.settings_page"), code=303)


def _row(row_id) -> SyncLedgerRow:
    row = db.session.get(SyncLedgerRow, uuid_or_404(row_id), with_for_update=True)
    if row is None:
        abort(404)
    return row


@bp.post("/settings/quickbooks/ledger/<row_id>/retry")
@require(SETTINGS)
def retry(row_id):
    row = _row(row_id)
    try:
        ledger.retry(row, actor=current_user)
    except ledger.LedgerRefused as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash("Asked to push it again.", "success")
    return redirect(url_for("quickbooks.settings_page"), code=303)


def _refused(form: ResolveForm, row: SyncLedgerRow):
    context = {**_page_context(None), "resolve_form": form, "resolve_row_id": row.id}
    return _with_intuit_form_action(render("quickbooks/settings.html", status=422, context=context))


@bp.post("/settings/quickbooks/ledger/<row_id>/resolve")
@require(SETTINGS)
def resolve(row_id):
    row = _row(row_id)
    form = ResolveForm()
    if not form.validate():
        db.session.rollback()
        return _refused(form, row)
    try:
        ledger.resolve(row, choice=form.choice.data, remote_id=(form.remote_id.data or "").strip() or None,
                       actor=current_user)
    except ledger.LedgerRefused as exc:
        db.session.rollback()
        form.choice.errors = [str(exc)]
        return _refused(form, row)
    db.session.commit()
    flash("Conflict resolved.", "success")
    return redirect(url_for("quickbooks.settings_page"), code=303)


@bp.post("/settings/quickbooks/companies/<company_id>/push")
@require(SETTINGS)
def push_company(company_id):
    """Push a company to QuickBooks by hand (it is pushed by itself when first invoiced)."""
    from app.crm.models import Company

    company = db.session.get(Company, uuid_or_404(company_id))
    if company is None:
        abort(404)
    if connection.live_connection() is None:
        flash("Connect QuickBooks first.", "error")
    else:
        ledger.ensure_customer(company.id)
        db.session.commit()
        flash(f"{company.name} is on its way to QuickBooks.", "success")
    return redirect(url_for("crm.company", company_id=company.id), code=303)
