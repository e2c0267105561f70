"""Receiving Gmail: one account's mailbox brought up to date.

- Incremental: users.history.list from the stored history id (messageAdded), the new messages
  of the inbox fetched (format=full, 50 per batch request) and stored through `ingest_inbound_email` with its Gmail
  id and thread id. Ids the mailbox's copies already have are not fetched again.
- A 404 on the history id (older than Gmail keeps, ~a week) is no error: the recent window
  (messages.list `newer_than:<GMAIL_RESYNC_DAYS>d` in the inbox) is fetched again and the
  cursor re-seeded from the profile's history id read *before* the listing.
- The cursor moves only after every page was fetched and stored: a failed fetch (429, 5xx, a
  timeout) leaves it where it was; what was stored before the failure stays and is skipped
  next time.
- One sync per account at a time: `sync_started_at` is claimed by a conditional UPDATE (and
  refreshed per page; a sync silent for SYNC_STALE_AFTER is taken over).

The account shows its state: last synced, last error (when), "reconnect" after invalid_grant."""
from __future__ import annotations

import base64
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parseaddr

from flask import current_app
from sqlalchemy import func, or_, update

from app.crm.records.normalize import normalize_email
from app.extensions import db
from app.inbox.email import accounts, gmail_client, services
from app.inbox.models import EmailAccount

log = logging.getLogger("crm.gmail")

SYNC_STALE_AFTER = timedelta(minutes=15)
SKIPPED_LABELS = frozenset({"DRAFT", "SPAM", "TRASH"})
_TAGS = re.compile(r"<[^>]+>")


@dataclass
class Synced:
    fetched: int = 0
    stored: int = 0
    duplicates: int = 0
    resynced: bool = False

    def __str__(self) -> str:
        return (f"{'resync: ' if self.resynced else ''}fetched {self.fetched}, stored {self.stored}, "
                f"duplicates {self.duplicates}")


# --- one Gmail message --------------------------------------------------------------------

def _decode(data: str | None) -> str:
    if not data:
        return ""
    raw = base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))
    return raw.decode("utf-8", "replace")


def _parts(payload: dict):
    yield payload
    for part in payload.get("parts") or ():
        yield from _parts(part)


def parse_message(full: dict) -> dict:
    """The fields ingest needs from a users.messages.get (format=full) answer."""
    payload = full.get("payload") or {}
    headers: dict[str, str] = {}
    for header in payload.get("headers") or ():
        headers.setdefault(header.get("name", "").lower(), header.get("value", ""))
    text = html = ""
    for part in _parts(payload):
        mime = part.get("mimeType", "")
        if mime == "text/plain" and not text and not part.get("filename"):
            text = _decode((part.get("body") or {}).get("data"))
        elif mime == "text/html" and not html and not part.get("filename"):
            html = _decode((part.get("body") or {}).get("data"))
    if not text and html:
        text = " ".join(_TAGS.sub(" ", html).split())
    internal = full.get("internalDate")
    return dict(
        from_address=headers.get("from", ""), to_address=headers.get("to", ""), subject=headers.get("subject"),
        body=text.replace("\r\n", "\n"), message_id=headers.get("message-id"), in_reply_to=headers.get("in-reply-to"),
        references=headers.get("references"), gmail_message_id=full.get("id"), gmail_thread_id=full.get("threadId"),
        labels=set(full.get("labelIds") or ()),
        received_at=datetime.fromtimestamp(int(internal) / 1000, UTC) if str(internal or "").isdigit() else None)


def ingest_ids(account: EmailAccount, mailbox: gmail_client.Mailbox, gmail_ids: list[str], result: Synced) -> None:
    """Fetch (in batches) and store the mailbox's messages not stored yet, in order. A failed
    fetch raises after storing the ones before it (the caller keeps its cursor); a message
    deleted since it was listed (404) is passed over."""
    known = services.known_gmail_ids(account.id, gmail_ids)
    own = normalize_email(account.email_address)
    wanted = []
    for gmail_id in dict.fromkeys(gmail_ids):
        if gmail_id in known:
            result.duplicates += 1
        else:
            wanted.append(gmail_id)
    for start in range(0, len(wanted), gmail_client.BATCH_SIZE):
        for _gmail_id, full in mailbox.messages(wanted[start:start + gmail_client.BATCH_SIZE]):
            if isinstance(full, gmail_client.GmailUnavailable):
                if full.status == 404:
                    continue
                raise full
            result.fetched += 1
            fields = parse_message(full)
            labels = fields.pop("labels")
            if labels & SKIPPED_LABELS or normalize_email(parseaddr(fields["from_address"])[1]) == own:
                continue  # drafts, spam, and the rep's own mail (what we send is stored when sent)
            outcome = services.ingest_inbound_email(**fields, account_id=account.id)
            if outcome == "duplicate":
                result.duplicates += 1
            else:
                result.stored += 1


# --- one account --------------------------------------------------------------------------

def claim_sync(account_id) -> bool:
    """Take the account's sync (none running, or the last one silent for SYNC_STALE_AFTER)."""
    taken = db.session.execute(
        update(EmailAccount).where(
            EmailAccount.id == account_id,
            or_(EmailAccount.sync_started_at.is_(None),
                EmailAccount.sync_started_at < func.now() - SYNC_STALE_AFTER))
        .values(sync_started_at=func.now()).returning(EmailAccount.id)).scalar_one_or_none()
    return taken is not None


def _page_done(account: EmailAccount) -> None:
    account.sync_started_at = datetime.now(UTC)  # still alive
    db.session.commit()


def _added_to_inbox(page: dict) -> list[str]:
    ids = []
    for record in page.get("history") or ():
        for added in record.get("messagesAdded") or ():
            message = added.get("message") or {}
            labels = set(message.get("labelIds") or ())
            if message.get("id") and "INBOX" in labels and not labels & SKIPPED_LABELS:
                ids.append(message["id"])
    return ids


def incremental(account: EmailAccount, mailbox: gmail_client.Mailbox, result: Synced) -> str:
    page_token, newest = None, account.gmail_history_id
    while True:
        page = mailbox.history(account.gmail_history_id, page_token)
        ingest_ids(account, mailbox, _added_to_inbox(page), result)
        _page_done(account)
        newest = page.get("historyId") or newest
        page_token = page.get("nextPageToken")
        if not page_token:
            return newest


def full_resync(account: EmailAccount, mailbox: gmail_client.Mailbox, result: Synced) -> str:
    result.resynced = True
    head = str(mailbox.profile()["historyId"])  # read first: nothing after it is missed
    days = int(current_app.config.get("GMAIL_RESYNC_DAYS", 7))
    page_token = None
    while True:
        page = mailbox.list_recent(days, page_token)
        ingest_ids(account, mailbox, [m["id"] for m in reversed(page.get("messages") or ())], result)
        _page_done(account)
        page_token = page.get("nextPageToken")
        if not page_token:
            return head


def sync_account(account_id) -> str:
    """Bring one account's mailbox up to date; commits per page. The outcome, for the log."""
    account = db.session.get(EmailAccount, account_id)
    if account is None or accounts.state(account) != "connected":
        db.session.rollback()
        return "not connected"
    if not claim_sync(account_id):
        db.session.rollback()
        return "busy"
    db.session.commit()
    result = Synced()
    try:
        mailbox = gmail_client.Mailbox(account)
        if account.gmail_history_id is None:
            cursor = full_resync(account, mailbox, result)
        else:
            try:
                cursor = incremental(account, mailbox, result)
            except gmail_client.HistoryExpired:
                log.info("gmail account=%s history id %s expired: resync", account.id, account.gmail_history_id)
                cursor = full_resync(account, mailbox, result)
        mailbox.keep_tokens()
        account.gmail_history_id = cursor
        account.last_synced_at = datetime.now(UTC)
        account.last_sync_error = account.last_sync_error_at = None
        outcome = f"synced ({result})"
    except gmail_client.GrantRevoked as exc:
        db.session.rollback()
        accounts.mark_grant_revoked(account, str(exc))
        outcome = "reconnect"
    except gmail_client.GmailUnavailable as exc:
        db.session.commit()  # what was stored before the failure stays; the cursor did not move
        account.last_sync_error, account.last_sync_error_at = exc.reason[:1000], datetime.now(UTC)
        outcome = f"failed, cursor kept ({result}): {exc.reason}"
    except Exception:
        db.session.rollback()
        raise
    finally:
        account.sync_started_at = None
        db.session.commit()
    log.info("gmail account=%s %s", account_id, outcome)
    return outcome
