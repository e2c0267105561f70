"""How a claimed e-mail leaves, and how a row left SENDING is settled.

The row's `email_account_id` says where it leaves from: a rep's Gmail (the Gmail API, with the
row's own Message-ID, In-Reply-To / References and, on a reply, the mailbox's Gmail thread id),
a rep's SMTP account (the SMTP backend with the account's server and sealed password), or none:
the configured mail backend (outbox in development, SMTP, or the system Gmail account).

Reconciling a row left SENDING (its worker died after the claim) never resends blindly: Gmail
is searched for the Message-ID (`rfc822msgid:`) in the sending mailbox — found: SENT, not
found: QUEUED and sent again with the same Message-ID; the outbox is looked up by its key;
SMTP cannot be asked, so the row is FAILED "unknown — check Sent" for a person."""
from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.inbox.email import accounts, gmail_client, services
from app.inbox.email.models import EmailMessageSource
from app.inbox.models import EmailAccount, EmailMessage, EmailStatus
from app.integrations.mail import DeliveryFailed, MailMessage, get_mail_backend
from app.integrations.secrets import decrypt

UNKNOWN_GMAIL = "unknown — the Gmail account needs reconnecting before its Sent folder can be checked"


def _backend_name() -> str:
    return (current_app.config.get("MAIL_BACKEND") or "outbox").lower()


def _account(message: EmailMessage) -> EmailAccount | None:
    return db.session.get(EmailAccount, message.email_account_id) if message.email_account_id else None


def transport(email_id) -> Callable[[], object]:
    """The hand-over of this claimed row, for send_claimed."""
    message = db.session.get(EmailMessage, email_id)
    account = _account(message)
    if account is None:
        backend, mail = get_mail_backend(), services.mail_for(email_id)
        return lambda: backend.send(mail)
    if account.provider == accounts.SMTP:
        backend, mail = smtp_backend(account), services.mail_for(email_id)
        return lambda: backend.send(mail)
    return lambda: send_through_gmail(account.id, email_id)


def smtp_backend(account: EmailAccount):
    from app.integrations.smtp import SmtpBackend

    defaults = SmtpBackend.from_config(current_app.config)
    return SmtpBackend(host=account.smtp_host or "", port=account.smtp_port or 587, username=account.smtp_user or "",
                       password=decrypt(account.smtp_pass) if account.smtp_pass else "",
                       starttls=defaults.starttls, ca_file=defaults.ca_file)


def gmail_thread_of(account_id, thread_id) -> str | None:
    """The mailbox's Gmail thread id for our thread (None: a new Gmail thread)."""
    return db.session.scalar(
        select(EmailMessageSource.gmail_thread_id)
        .join(EmailMessage, EmailMessage.id == EmailMessageSource.email_message_id)
        .where(EmailMessageSource.email_account_id == account_id, EmailMessage.thread_id == thread_id,
               EmailMessageSource.gmail_thread_id.isnot(None))
        .order_by(EmailMessageSource.created_at.desc()).limit(1))


def _revoked(account_id, exc: Exception) -> DeliveryFailed:
    """The grant died: the account shows "reconnect" (committed now: the send's own rollback
    must not take it back), and this e-mail fails with the reason."""
    db.session.rollback()
    account = db.session.get(EmailAccount, account_id)
    accounts.mark_grant_revoked(account, str(exc))
    db.session.commit()
    return DeliveryFailed(f"The Gmail account {account.email_address} needs reconnecting "
                          "(Settings → E-mail accounts).", permanent=True)


def send_through_gmail(account_id, email_id) -> dict:
    account = db.session.get(EmailAccount, account_id)
    message = db.session.get(EmailMessage, email_id)
    mime = gmail_client.build_mime(
        from_address=message.from_address, to=message.to_address, subject=message.subject or "",
        body_text=message.body_text or "", body_html=message.body_html, message_id=message.message_id,
        in_reply_to=message.in_reply_to, references=message.references)
    try:
        mailbox = gmail_client.Mailbox(account)
        sent = mailbox.send(mime, gmail_thread_of(account.id, message.thread_id))
        mailbox.keep_tokens()
    except gmail_client.GrantRevoked as exc:
        raise _revoked(account_id, exc) from exc
    except gmail_client.GmailUnavailable as exc:
        raise DeliveryFailed(exc.reason, permanent=exc.permanent) from exc
    services.record_source(account.id, sent.get("id"), sent.get("threadId"), message.id)
    return sent


class SystemGmailBackend:
    """MAIL_BACKEND=gmail: the app's own mail (invoices, sign-in links) from the Gmail account of
    MAIL_FROM, connected by an admin under Settings → E-mail accounts."""

    def send(self, message: MailMessage) -> None:
        account = accounts.system_gmail_account()
        if account is None:
            raise DeliveryFailed("The system Gmail account (MAIL_FROM) is not connected: an admin connects it "
                                 "under Settings → E-mail accounts.", permanent=False)
        mime = gmail_client.build_mime(
            from_address=message.from_address or accounts.from_header(account), to=message.to,
            subject=message.subject, body_text=message.body_text, body_html=message.body_html,
            message_id=message.message_id, in_reply_to=message.in_reply_to, references=message.references)
        try:
            mailbox = gmail_client.Mailbox(account)
            mailbox.send(mime, None)
            mailbox.keep_tokens()
        except gmail_client.GrantRevoked as exc:
            raise _revoked(account.id, exc) from exc
        except gmail_client.GmailUnavailable as exc:
            raise DeliveryFailed(exc.reason, permanent=exc.permanent) from exc


# --- the reconciler -----------------------------------------------------------------------

def _lookable(provider: str | None) -> bool:
    """Can a send through this be looked up (Gmail's Sent, the outbox's store)?"""
    return provider == accounts.GMAIL or (provider is None and _backend_name() in ("outbox", "gmail"))


def stuck_sends(now: datetime | None = None, limit: int = 200):
    """(id, attempts) of rows left SENDING longer than their reconcile delay: Gmail and the outbox
    can be looked up soon (EMAIL_RECONCILE_AFTER_S); SMTP cannot be looked up at all, so a person
    is told after EMAIL_SMTP_UNKNOWN_AFTER_S."""
    now = now or datetime.now(UTC)
    soon = timedelta(seconds=int(current_app.config.get("EMAIL_RECONCILE_AFTER_S", 120)))
    late = timedelta(seconds=int(current_app.config.get("EMAIL_SMTP_UNKNOWN_AFTER_S", 900)))
    rows = db.session.execute(
        select(EmailMessage.id, EmailMessage.attempts, EmailMessage.claimed_at, EmailAccount.provider)
        .outerjoin(EmailAccount, EmailAccount.id == EmailMessage.email_account_id)
        .where(EmailMessage.status == EmailStatus.SENDING, EmailMessage.claimed_at < now - soon)
        .order_by(EmailMessage.claimed_at).limit(limit)).all()
    return [(r.id, r.attempts) for r in rows if _lookable(r.provider) or r.claimed_at < now - late]


def reconcile(email_id) -> str:
    """Settle a row left SENDING (see the module's docstring). Gmail unreachable: raises, the
    row stays SENDING and the job is asked for again by the next sweep."""
    message = db.session.get(EmailMessage, email_id)
    if message is None or message.status is not EmailStatus.SENDING:
        return "not sending"
    account = _account(message)
    if account is not None and account.provider == accounts.GMAIL:
        try:
            mailbox = gmail_client.Mailbox(account)
            found = mailbox.find_sent(message.message_id)
            mailbox.keep_tokens()
        except gmail_client.GrantRevoked as exc:
            accounts.mark_grant_revoked(account, str(exc))
            services.settle(email_id, EmailStatus.FAILED, error=UNKNOWN_GMAIL)
            return "unknown"
        return _settle_looked_up(message, found and (found.get("id"), found.get("threadId"), account.id))
    if account is None and _backend_name() == "outbox":
        from app.integrations.models import OutboxMessage

        found = db.session.scalar(select(OutboxMessage.id).where(OutboxMessage.message_key == message.message_id))
        return _settle_looked_up(message, found and (None, None, None))
    services.settle(email_id, EmailStatus.FAILED, error=services.UNKNOWN_CHECK_SENT)
    return "unknown"


def _settle_looked_up(message: EmailMessage, found) -> str:
    if not found:
        if services.settle(message.id, EmailStatus.QUEUED):
            services.enqueue_send(message.id, message.attempts)
        return "requeued"
    gmail_id, gmail_thread_id, account_id = found
    services.record_source(account_id, gmail_id, gmail_thread_id, message.id)
    if services.settle(message.id, EmailStatus.SENT):
        services.record_sent_activity(message.id)
    return "sent"
