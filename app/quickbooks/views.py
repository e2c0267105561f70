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
from app.quickbooks.models import LedgerState, SyncLedgerRow

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
    last_push = db.session.scalar(select(func.max(SyncLedgerRow.synced_at)))
    backoff = None
    if live is not None:
        try:
            backoff = limits.backoff_until(connection.realm_of(live))
        except Exception:  # Redis away: the page still shows the ledger
            backoff = None
    return {"live": live, "configured": connection.is_configured(), "missing": connection.missing_settings(),
            "environment": connection.environment(), "counts": {s: counts.get(s, 0) for s in LedgerState},
            "rows": rows, "last_push": last_push, "backoff_until": backoff, "states": list(LedgerState),
            "filter_form": LedgerFilterForm(request.args), "state_filter": state_filter or "",
            "resolve_form": ResolveForm()}


@bp.get("/settings/quickbooks")
@require(SETTINGS)
def settings_page():
    form = LedgerFilterForm(request.args)
    state = form.state.data if form.validate() else None
    return render("quickbooks/settings.html", context=_page_context(state or None))


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


@bp.post("/settings/quickbooks/ledger/<row_id>/resolve")
@require(SETTINGS)
def resolve(row_id):
    row = _row(row_id)
    form = ResolveForm()
    if not form.validate():
        db.session.rollback()
        return render("quickbooks/settings.html", status=422,
                      context={**_page_context(None), "resolve_form": form, "resolve_row_id": row.id})
    try:
        ledger.resolve(row, choice=form.choice.data, remote_id=(form.remote_id.data or "").strip() or None,
                       actor=current_user)
    except ledger.LedgerRefused as exc:
        db.session.rollback()
        form.choice.errors = [str(exc)]
        return render("quickbooks/settings.html", status=422,
                      context={**_page_context(None), "resolve_form": form, "resolve_row_id": row.id})
    db.session.commit()
    flash("Conflict resolved.", "success")
    return redirect(url_for("quickbooks.settings_page"), code=303)
