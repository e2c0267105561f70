"""E-mail accounts: each rep's own Gmail (OAuth, tokens sealed with AES-256-GCM) or an SMTP
fallback (outbound only, password sealed), who may see and manage which, and which account an
e-mail leaves from.

A Gmail account whose grant Google refused (`invalid_grant`: revoked, a password change, a
*Testing* OAuth app's 7-day tokens) is not failed silently: `reconnect_needed_at` is set, the
owner and admins see "Reconnect (since <date>)", its e-mails fall back to the system sender
and its sync stops until the owner connects it again.

Services flush, never commit."""
from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime
from email.utils import formataddr, parseaddr

from flask import current_app
from google_auth_oauthlib.flow import Flow
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import joinedload

from app.auth.permissions import SETTINGS, can
from app.crm.records.normalize import normalize_email
from app.extensions import db
from app.inbox.email import gmail_client
from app.inbox.models import EmailAccount
from app.integrations.secrets import encrypt
from app.queue import enqueue
from app.urls import absolute_url

GMAIL, SMTP = "gmail", "smtp"


class AccountRefused(Exception):
    """Why the account cannot be connected or saved (shown to the user)."""


# --- who sees what ------------------------------------------------------------------------

def may_manage(user, account: EmailAccount) -> bool:
    return can(user, SETTINGS) or (account.user_id is not None and account.user_id == user.id)


def visible_accounts(user) -> list[EmailAccount]:
    """Gmail and SMTP accounts (not the system sender's own row): an admin sees all, a rep theirs."""
    query = (select(EmailAccount).options(joinedload(EmailAccount.user))
             .where(or_(EmailAccount.provider == GMAIL,
                        and_(EmailAccount.provider == SMTP, EmailAccount.smtp_host.isnot(None))))
             .order_by(EmailAccount.email_address))
    if not can(user, SETTINGS):
        query = query.where(EmailAccount.user_id == user.id)
    return list(db.session.scalars(query))


def state(account: EmailAccount) -> str:
    """connected | reconnect | disconnected | smtp (outbound only)."""
    if account.provider == SMTP:
        return "smtp" if account.is_active else "disconnected"
    if not account.is_active or not account.gmail_refresh_token:
        return "disconnected"
    if account.reconnect_needed_at is not None:
        return "reconnect"
    return "connected"


def reconnect_notices(user) -> list[EmailAccount]:
    """Gmail accounts this user should reconnect (their own; an admin: every one)."""
    return [a for a in visible_accounts(user) if state(a) == "reconnect"]


def gmail_configured() -> bool:
    return bool(current_app.config.get("GOOGLE_CLIENT_ID") and current_app.config.get("GOOGLE_CLIENT_SECRET"))


# --- which account sends ------------------------------------------------------------------

def sending_account(user_id) -> EmailAccount | None:
    """The rep's own live account (Gmail first, then SMTP); else, with MAIL_BACKEND=gmail, the
    system sender's Gmail account (MAIL_FROM); else None: the configured mail backend."""
    if user_id is not None:
        own = db.session.scalars(
            select(EmailAccount).where(EmailAccount.user_id == user_id, EmailAccount.is_active.is_(True),
                                       EmailAccount.provider.in_((GMAIL, SMTP)))
            .order_by(EmailAccount.provider, EmailAccount.created_at)).all()
        for account in own:
            if state(account) in ("connected", "smtp"):
                return account
    if (current_app.config.get("MAIL_BACKEND") or "").lower() == GMAIL:
        return system_gmail_account()
    return None


def system_gmail_account() -> EmailAccount | None:
    from app.integrations.mail import default_sender

    address = normalize_email(parseaddr(default_sender())[1])
    account = db.session.scalar(select(EmailAccount).where(EmailAccount.provider == GMAIL,
                                                           EmailAccount.email_address == address))
    return account if account is not None and state(account) == "connected" else None


def from_header(account: EmailAccount) -> str:
    return formataddr((account.display_name or "", account.email_address))


# --- Gmail OAuth --------------------------------------------------------------------------

def redirect_uri() -> str:
    return absolute_url("inbox.gmail_oauth_callback")


def _flow(**kwargs) -> Flow:
    return Flow.from_client_config(gmail_client.client_config(), scopes=list(gmail_client.SCOPES),
                                   redirect_uri=redirect_uri(), **kwargs)


def authorization_url() -> tuple[str, str, str]:
    """Google's consent page (offline access: a refresh token), with a fresh `state` and PKCE
    verifier for the caller to keep in the session: (url, state, code_verifier)."""
    if not gmail_configured():
        raise AccountRefused("Gmail is not set up: GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET are missing.")
    flow = _flow()
    url, state_value = flow.authorization_url(access_type="offline", prompt="consent",
                                              state=secrets.token_urlsafe(24))
    return url, state_value, flow.code_verifier


def connect(user, *, code: str, code_verifier: str) -> EmailAccount:
    """Trade the callback's code for tokens, read the mailbox's address, and store the account
    (a reconnect of the same address updates its row and keeps its sync cursor)."""
    flow = _flow(code_verifier=code_verifier)
    try:
        flow.fetch_token(code=code)
    except Warning as exc:  # oauthlib: the scopes granted are not the ones asked for
        granted = set(getattr(exc, "new_scope", None) or ())
        missing = [s.rsplit("/", 1)[-1] for s in gmail_client.SCOPES if s not in granted]
        raise AccountRefused("Google granted only part of the access (missing: " + ", ".join(missing or ["?"])
                             + "): allow the CRM to send and read your mail, then connect again.") from exc
    except Exception as exc:  # oauthlib's errors: a used or wrong code, a refused client
        raise AccountRefused(f"Google did not accept the sign-in: {getattr(exc, 'description', None) or exc}") from exc
    creds = flow.credentials
    if not creds.refresh_token:
        raise AccountRefused("Google sent no refresh token: remove the app's access in your Google account, "
                             "then connect again.")
    probe = EmailAccount(id=uuid.uuid4(), provider=GMAIL, email_address="", user_id=user.id)
    gmail_client.seal_tokens(probe, creds)
    try:
        profile = gmail_client.Mailbox(probe).profile()
    except (gmail_client.GmailUnavailable, gmail_client.GrantRevoked) as exc:
        raise AccountRefused(f"Could not read the mailbox: {exc}") from exc
    address = normalize_email(profile.get("emailAddress"))
    if not address:
        raise AccountRefused("Google did not say which mailbox this is.")
    account = db.session.scalar(select(EmailAccount).where(EmailAccount.provider == GMAIL,
                                                           EmailAccount.email_address == address).with_for_update())
    if account is not None and account.user_id not in (None, user.id) and not can(user, SETTINGS):
        raise AccountRefused(f"{address} is another user's account.")
    if account is None:
        account = EmailAccount(id=uuid.uuid4(), provider=GMAIL, email_address=address, user_id=user.id,
                               display_name=user.full_name)
        db.session.add(account)
    elif account.user_id is None:
        account.user_id = user.id
    account.gmail_access_token, account.gmail_refresh_token = probe.gmail_access_token, probe.gmail_refresh_token
    account.gmail_token_expiry = probe.gmail_token_expiry
    account.is_active = True
    account.reconnect_needed_at = None
    account.last_sync_error = account.last_sync_error_at = None
    db.session.flush()
    enqueue_sync(account.id)  # no cursor yet: the recent window is imported, then incremental
    if current_app.config.get("GMAIL_PUBSUB_TOPIC"):
        from app.inbox.email.watch import enqueue_watch

        account.gmail_watch_expires_at = None  # a reconnect starts a new watch
        enqueue_watch(account.id, key=f"connect-{uuid.uuid4()}")
    return account


def mark_grant_revoked(account: EmailAccount, reason: str) -> None:
    now = datetime.now(UTC)
    if account.reconnect_needed_at is None:
        account.reconnect_needed_at = now
    account.last_sync_error = f"Google refused the account's access (reconnect it): {reason}"[:1000]
    account.last_sync_error_at = now
    db.session.flush()


def disconnect(account: EmailAccount) -> None:
    """Forget the tokens (or SMTP password); threads and messages stay."""
    account.is_active = False
    account.gmail_access_token = account.gmail_refresh_token = account.gmail_token_expiry = None
    account.smtp_pass = None
    account.gmail_history_id = None
    # Gmail's watch cannot be stopped without the tokens just forgotten: it lapses within 7 days,
    # and its notifications meanwhile find no connected account (apply_gmail_push ignores them).
    account.gmail_watch_expires_at = account.gmail_watch_error = None
    db.session.flush()


# --- SMTP fallback ------------------------------------------------------------------------

def save_smtp_account(user_id, *, email_address: str, display_name: str | None, host: str, port: int,
                      username: str | None, password: str | None) -> EmailAccount:
    address = normalize_email(email_address)
    if not address:
        raise AccountRefused("Enter the address e-mails are sent from.")
    account = db.session.scalar(select(EmailAccount).where(EmailAccount.provider == SMTP,
                                                           EmailAccount.email_address == address).with_for_update())
    if account is not None and account.user_id not in (None, user_id):
        raise AccountRefused(f"{address} is another user's account.")
    if account is None:
        account = EmailAccount(id=uuid.uuid4(), provider=SMTP, email_address=address)
        db.session.add(account)
    account.user_id, account.display_name = user_id, (display_name or "").strip() or None
    account.smtp_host, account.smtp_port, account.smtp_user = host.strip(), port, (username or "").strip() or None
    if password:
        account.smtp_pass = encrypt(password)
    account.is_active = True
    db.session.flush()
    return account


# --- sync requests ------------------------------------------------------------------------

def enqueue_sync(account_id, key: str | None = None) -> None:
    """Ask for one sync of the account. `key` names the request (the poll's time slot, a push
    notification's id): asked twice, it is queued once. Syncs of one account never overlap
    (sync.py takes a lock), so a request while one runs waits its turn."""
    enqueue("mail", "app.inbox.email.sync_jobs.sync_account", account_id,
            job_id=f"gmail-sync-{account_id}-{key or uuid.uuid4()}")
