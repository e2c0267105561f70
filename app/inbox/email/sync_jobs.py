"""Gmail receiving jobs (queue "mail"): ids in, commit, safe to run twice.

- `sync_all_accounts` (periodic, app/schedule.py): asks for a sync of every connected Gmail
  account (one request per account and time slot).
- `sync_account`: one mailbox brought up to date (app.inbox.email.sync).
- `apply_gmail_push`: a stored Pub/Sub notification (POST /webhooks/gmail) asks for a sync of
  its mailbox, unless the cursor is already past its history id."""
from __future__ import annotations

import base64
import binascii
import json
import logging
from datetime import UTC, datetime

from flask import current_app
from sqlalchemy import select

from app.extensions import db

log = logging.getLogger("crm.gmail")


def sync_account(account_id: str) -> str:
    from app.inbox.email.sync import sync_account as sync

    return sync(account_id)


def sync_all_accounts() -> int:
    from app.inbox.email import accounts
    from app.inbox.models import EmailAccount

    every = max(int(current_app.config.get("GMAIL_SYNC_EVERY_S", 120)), 1)
    slot = int(datetime.now(UTC).timestamp() // every)
    rows = db.session.scalars(select(EmailAccount).where(
        EmailAccount.provider == accounts.GMAIL, EmailAccount.is_active.is_(True),
        EmailAccount.reconnect_needed_at.is_(None), EmailAccount.gmail_refresh_token.isnot(None))).all()
    for account in rows:
        accounts.enqueue_sync(account.id, key=f"poll-{slot}")
    db.session.commit()
    return len(rows)


def push_notification(payload: dict) -> dict:
    """The notification inside a Pub/Sub push envelope: {"emailAddress", "historyId"}."""
    data = (payload.get("message") or {}).get("data") or ""
    try:
        decoded = json.loads(base64.b64decode(data + "=" * (-len(data) % 4), altchars=b"-_"))
    except (ValueError, binascii.Error):
        return {}
    return decoded if isinstance(decoded, dict) else {}


def apply_gmail_push(webhook_event_id: str) -> str:
    from app.crm.records.normalize import normalize_email
    from app.inbox.email import accounts
    from app.inbox.models import EmailAccount
    from app.webhooks.services import take_stored_event

    event, nothing = take_stored_event(webhook_event_id)
    if event is None:
        return nothing
    note = push_notification(event.payload)
    address = normalize_email(str(note.get("emailAddress") or ""))
    account = db.session.scalar(select(EmailAccount).where(
        EmailAccount.provider == accounts.GMAIL, EmailAccount.email_address == address)) if address else None
    pushed = str(note.get("historyId") or "")
    if account is None or accounts.state(account) != "connected":
        outcome = "no connected account"
    elif pushed.isdigit() and (account.gmail_history_id or "").isdigit() and \
            int(pushed) <= int(account.gmail_history_id):
        outcome = "already synced"
    else:
        accounts.enqueue_sync(account.id, key=f"push-{event.id}")
        outcome = "sync asked"
    event.processed_at, event.error = datetime.now(UTC), None
    db.session.commit()
    log.info("gmail push event=%s outcome=%s", event.provider_event_id, outcome)
    return outcome
