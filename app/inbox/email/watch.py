"""Gmail push: each connected mailbox watched into the Pub/Sub topic (users.watch), renewed
before it ends. Gmail stops notifying when a watch expires (at most 7 days after the call; Google
asks for a renewal at least every 7 days, daily recommended), so a periodic job renews every watch
ending within a day. Without GMAIL_PUBSUB_TOPIC nothing is watched and mailboxes are polled
(`gmail-sync`); the poll keeps running with push too, so a lost notification only delays a
message by one poll. Jobs only (queue "mail"); each renewal commits what Gmail answered."""
from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import or_, select

from app.extensions import db
from app.inbox.email import accounts, gmail_client
from app.inbox.models import EmailAccount
from app.queue import enqueue

log = logging.getLogger("crm.gmail")

RENEW_BEFORE = timedelta(days=1)


def topic() -> str:
    return (current_app.config.get("GMAIL_PUBSUB_TOPIC") or "").strip()


def enqueue_watch(account_id, key: str) -> None:
    """Ask for one users.watch of the account; `key` names the request (queued once per key)."""
    enqueue("mail", "app.inbox.email.watch.renew_watch", account_id, job_id=f"gmail-watch-{account_id}-{key}")


def renew_watch(account_id) -> str:
    """Call users.watch for one mailbox and store when it ends (or why it failed)."""
    account = db.session.get(EmailAccount, account_id)
    if not topic():
        db.session.rollback()
        return "push not configured"
    if account is None or accounts.state(account) != "connected":
        db.session.rollback()
        return "not connected"
    try:
        mailbox = gmail_client.Mailbox(account)
        answer = mailbox.watch(topic())
        mailbox.keep_tokens()
    except gmail_client.GrantRevoked as exc:
        accounts.mark_grant_revoked(account, str(exc))
        outcome = "reconnect"
    except gmail_client.GmailUnavailable as exc:
        account.gmail_watch_error = f"Gmail refused the push subscription: {exc.reason}"[:1000]
        outcome = f"failed: {exc.reason}"
    else:
        expiration = str(answer.get("expiration") or "")
        account.gmail_watch_expires_at = (datetime.fromtimestamp(int(expiration) / 1000, UTC)
                                          if expiration.isdigit() else None)
        account.gmail_watch_error = None
        outcome = f"watching until {account.gmail_watch_expires_at:%Y-%m-%d %H:%M} UTC" \
            if account.gmail_watch_expires_at else "watching (no expiration given)"
    db.session.commit()
    log.info("gmail watch account=%s %s", account_id, outcome)
    return outcome


def renew_due_watches(now: datetime | None = None) -> int:
    """Periodic: ask for a renewal of every connected mailbox's watch that ends within a day
    (or never started, or failed), one request per mailbox and day."""
    if not topic():
        return 0
    now = now or datetime.now(UTC)
    ids = db.session.scalars(select(EmailAccount.id).where(
        EmailAccount.provider == accounts.GMAIL, EmailAccount.is_active.is_(True),
        EmailAccount.reconnect_needed_at.is_(None), EmailAccount.gmail_refresh_token.isnot(None),
        or_(EmailAccount.gmail_watch_expires_at.is_(None),
            EmailAccount.gmail_watch_expires_at < now + RENEW_BEFORE))).all()
    for account_id in ids:
        enqueue_watch(account_id, key=f"{now:%Y%m%d}")
    db.session.commit()
    return len(ids)
