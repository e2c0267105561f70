"""Settings → E-mail accounts: each rep connects their own Gmail (OAuth) or an SMTP account
(outbound only); an admin sees and manages every account. Each Gmail account shows its sync
state (last synced, last error, "Sync now") and, when Google refused its grant, "Reconnect"
with the date."""
from __future__ import annotations

import hmac
from urllib.parse import urlsplit

from flask import abort, current_app, flash, redirect, request, session, url_for
from flask_login import current_user

from app.auth.permissions import INBOX, SETTINGS, can, require
from app.errors import get_or_404
from app.extensions import db
from app.htmx import render
from app.inbox import bp
from app.inbox.email import accounts
from app.inbox.email.forms import SmtpAccountForm
from app.inbox.models import EmailAccount
from app.security import CSP

PAGE = "inbox/email/accounts.html"
OAUTH_STATE = "gmail_oauth_state"
OAUTH_VERIFIER = "gmail_oauth_verifier"


def _page(*, status: int = 200, error: str | None = None):
    rows = accounts.visible_accounts(current_user)
    response = render(PAGE, status=status, context=dict(
        rows=[(a, accounts.state(a)) for a in rows], error=error, gmail_ready=accounts.gmail_configured(),
        sees_all=can(current_user, SETTINGS), push_on=bool(current_app.config.get("GMAIL_PUBSUB_TOPIC")),
        poll_minutes=max(1, round(int(current_app.config.get("GMAIL_SYNC_EVERY_S", 120)) / 60))))
    # "Connect Gmail" posts here and is redirected to Google's consent page: the page's
    # form-action must allow that origin (browsers check it on the redirect too).
    google = urlsplit(current_app.config["GOOGLE_AUTH_URI"])
    response.headers["Content-Security-Policy"] = CSP.replace(
        "form-action 'self'", f"form-action 'self' {google.scheme}://{google.netloc}", 1)
    return response


def _managed(account_id) -> EmailAccount:
    account = get_or_404(EmailAccount, account_id)
    if not accounts.may_manage(current_user, account):
        abort(403)
    return account


@bp.get("/settings/email-accounts")
@require(INBOX)
def email_accounts():
    return _page()


@bp.post("/settings/email-accounts/connect")
@require(INBOX)
def connect_gmail():
    try:
        url, state, verifier = accounts.authorization_url()
    except accounts.AccountRefused as exc:
        return _page(status=422, error=str(exc))
    session[OAUTH_STATE], session[OAUTH_VERIFIER] = state, verifier
    return redirect(url)


@bp.get("/settings/email-accounts/oauth/callback")
@require(INBOX)
def gmail_oauth_callback():
    expected = session.pop(OAUTH_STATE, None)
    verifier = session.pop(OAUTH_VERIFIER, None)
    given = request.args.get("state", "")
    if not expected or not hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace")):
        return _page(status=400, error="That sign-in link is not the one this browser started: connect again.")
    if request.args.get("error"):
        flash("Gmail was not connected: Google's consent was cancelled.", "warning")
        return redirect(url_for("inbox.email_accounts"))
    code = request.args.get("code", "")
    if not code or len(code) > 2000:
        return _page(status=400, error="Google sent no sign-in code: connect again.")
    try:
        account = accounts.connect(current_user, code=code, code_verifier=verifier or "")
    except accounts.AccountRefused as exc:
        db.session.rollback()
        return _page(status=422, error=str(exc))
    db.session.commit()
    flash(f"{account.email_address} is connected: its inbox is being synced.", "success")
    return redirect(url_for("inbox.email_accounts"))


@bp.post("/settings/email-accounts/<uuid:account_id>/sync")
@require(INBOX)
def sync_email_account(account_id):
    account = _managed(account_id)
    if accounts.state(account) != "connected":
        return _page(status=409, error=f"{account.email_address} is not connected: nothing to sync.")
    accounts.enqueue_sync(account.id)
    db.session.commit()
    flash(f"Syncing {account.email_address} now.", "success")
    return redirect(url_for("inbox.email_accounts"))


@bp.post("/settings/email-accounts/<uuid:account_id>/disconnect")
@require(INBOX)
def disconnect_email_account(account_id):
    account = _managed(account_id)
    accounts.disconnect(account)
    db.session.commit()
    flash(f"{account.email_address} is disconnected; its e-mails stay in the CRM.", "success")
    return redirect(url_for("inbox.email_accounts"))


@bp.get("/settings/email-accounts/smtp/new")
@require(INBOX)
def new_smtp_account():
    return render("inbox/email/smtp_form.html", context=dict(form=SmtpAccountForm(formdata=None), error=None))


@bp.post("/settings/email-accounts/smtp/new")
@require(INBOX)
def create_smtp_account():
    form = SmtpAccountForm()
    error = None
    if form.validate_on_submit():
        try:
            accounts.save_smtp_account(
                current_user.id, email_address=form.email_address.data, display_name=form.display_name.data,
                host=form.smtp_host.data, port=form.smtp_port.data, username=form.smtp_user.data,
                password=form.smtp_pass.data or None)
        except accounts.AccountRefused as exc:
            db.session.rollback()
            error = str(exc)
        else:
            db.session.commit()
            flash(f"{form.email_address.data} sends your e-mails through {form.smtp_host.data}.", "success")
            return redirect(url_for("inbox.email_accounts"))
    return render("inbox/email/smtp_form.html", status=422, context=dict(form=form, error=error))
