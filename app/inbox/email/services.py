"""The e-mail channel's rules: sending (a QUEUED row, its thread and its send job in the
caller's transaction, from the rep's own account or the system sender; the job claims the row,
checks do-not-contact at send time, sends with the row's own RFC Message-ID, records the
result; outbound.py hands it over and reconciles rows left SENDING), and inbound ingest
(deduplicated by the mailbox's Gmail id and by Message-ID, matched by normalised address,
threaded by Gmail thread id, then In-Reply-To / References; UNSUBSCRIBE / STOP).

Services flush, never commit (the jobs in jobs.py and the views commit)."""
from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parseaddr

from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from app.activity.services import record
from app.crm.models import Contact, Lead
from app.crm.records.normalize import normalize_email
from app.extensions import db
from app.inbox.conversations import (
    STOP_WORDS,
    consent_keyword,
    unmatched_email,
    upsert_conversation,
)
from app.inbox.email import accounts
from app.inbox.email.models import EmailMessageSource
from app.inbox.models import (
    ConversationChannel,
    EmailAccount,
    EmailMessage,
    EmailStatus,
    EmailThread,
    MessageDirection,
)
from app.integrations.mail import MailMessage, default_sender
from app.queue import enqueue
from app.sequences import stops as sequence_stops

log = logging.getLogger("crm.email")

DO_NOT_CONTACT = "do not contact"
UNKNOWN_CHECK_SENT = "unknown — check Sent: the worker stopped after handing it to the mail server"
MAX_SUBJECT = 300
MAX_BODY = 50_000
_MSGID = re.compile(r"<[^<>\s]+>")


class EmailRefused(Exception):
    """Why this e-mail cannot be sent (shown to the rep)."""


# --- the composer -------------------------------------------------------------------------

def refusal(lead: Lead) -> str | None:
    """Why nobody can e-mail this lead now (None: they can)."""
    if lead.is_dnc:
        return "Do not contact: this lead asked not to be contacted."
    contact = lead.contact
    if contact is None or not normalize_email(contact.email):
        return "The contact has no e-mail address."
    return None


def latest_thread(lead_id) -> EmailThread | None:
    return db.session.scalar(
        select(EmailThread).where(EmailThread.lead_id == lead_id)
        .order_by(EmailThread.last_message_at.desc().nulls_last(), EmailThread.created_at.desc()).limit(1))


def sender_address() -> str:
    return parseaddr(default_sender())[1] or default_sender()


def system_account() -> EmailAccount:
    """The mailbox the configured mail backend sends as (MAIL_FROM): one account row for it,
    as the spec's threads need one (per-rep Gmail accounts come with the Gmail work)."""
    return _system_account()[0]


def _system_account() -> tuple[EmailAccount, bool]:
    address = sender_address()
    db.session.execute(select(func.pg_advisory_xact_lock(func.hashtext(f"email-account:{address}"))))
    account = db.session.scalar(select(EmailAccount).where(EmailAccount.email_address == address)
                                .order_by(EmailAccount.created_at).limit(1))
    if account is None:
        account = EmailAccount(id=uuid.uuid4(), email_address=address, display_name=parseaddr(default_sender())[0]
                               or None, provider=(current_app.config.get("MAIL_BACKEND") or "outbox").lower())
        db.session.add(account)
        db.session.flush()
        return account, True
    return account, False


def per_transaction(key, load):
    """`load()` once per key in the session's outer transaction (a sequence batch sends many
    e-mails as the same rep: their sending account is read once); gone with the transaction."""
    transaction = db.session().get_transaction()
    memo = db.session.info.get("crm_per_transaction")
    if memo is None or memo[0] is not transaction:
        memo = db.session.info["crm_per_transaction"] = (transaction, {})
    if key not in memo[1]:
        memo[1][key] = load()
    return memo[1][key]


def system_account_id() -> uuid.UUID:
    """system_account()'s id, kept for the transaction once a call found the row made before
    (a row this call makes may still go with a rolled-back savepoint: not kept)."""
    key = ("system-account", sender_address())
    memo = db.session.info.get("crm_per_transaction")
    if memo is not None and memo[0] is db.session().get_transaction() and key in memo[1]:
        return memo[1][key]
    account, made = _system_account()
    if not made:
        per_transaction(key, lambda: account.id)
    return account.id


def new_message_id(row_id: uuid.UUID, account: EmailAccount | None = None) -> str:
    domain = (account.email_address if account else sender_address()).rpartition("@")[2] or "crm.invalid"
    return f"<{row_id}@{domain}>"


def reply_headers(thread: EmailThread) -> tuple[str | None, str | None]:
    """In-Reply-To and References for a new message in `thread` (its last message's id)."""
    last = db.session.scalar(
        select(EmailMessage).where(EmailMessage.thread_id == thread.id, EmailMessage.message_id.isnot(None))
        .order_by(EmailMessage.created_at.desc(), EmailMessage.id.desc()).limit(1))
    if last is None:
        return None, None
    chain = _MSGID.findall(last.references or "") + [last.message_id]
    return last.message_id, " ".join(dict.fromkeys(chain[-20:]))


def send_email(lead: Lead, *, subject: str, body: str, actor, thread_id=None) -> EmailMessage:
    """Write the e-mail (QUEUED) and its send job in the caller's transaction; a reply when
    `thread_id` names one of the lead's threads."""
    reason = refusal(lead)
    if reason:
        raise EmailRefused(reason)
    subject, body = (subject or "").strip(), (body or "").strip()
    if not subject:
        raise EmailRefused("Write a subject.")
    if not body:
        raise EmailRefused("Write a message first.")
    now = datetime.now(UTC)
    thread = db.session.get(EmailThread, thread_id) if thread_id else None
    if thread is not None and thread.lead_id != lead.id:
        raise EmailRefused("That thread is not this lead's.")
    account = per_transaction(("sending-account", actor.id if actor else None),
                              lambda: accounts.sending_account(actor.id if actor else None))
    if thread is None:  # a new thread: nothing to reply to
        thread = EmailThread(id=uuid.uuid4(), lead_id=lead.id, subject=subject, last_message_at=now,
                             email_account_id=account.id if account else system_account_id())
        db.session.add(thread)
        in_reply_to, references = None, None
    else:
        in_reply_to, references = reply_headers(thread)
        thread.last_message_at = now
    row_id = uuid.uuid4()
    message = EmailMessage(
        id=row_id, thread_id=thread.id, direction=MessageDirection.OUTBOUND,
        from_address=accounts.from_header(account) if account else default_sender(),
        to_address=lead.contact.email.strip(), subject=subject[:MAX_SUBJECT], body_text=body,
        status=EmailStatus.QUEUED, message_id=new_message_id(row_id, account), in_reply_to=in_reply_to,
        references=references, attempts=0, user_id=actor.id if actor else None, created_at=now,
        email_account_id=account.id if account else None)
    db.session.add(message)
    db.session.flush()
    upsert_conversation(lead_id=lead.id, contact_id=lead.contact_id, user_id=actor.id if actor else None, at=now,
                        preview=f"{subject}: {body}", inbound=False, channel=ConversationChannel.EMAIL)
    enqueue_send(message.id, 0)
    return message


def enqueue_send(email_id, attempt: int) -> None:
    enqueue("mail", "app.inbox.email.jobs.send_email", email_id, job_id=f"email-send-{email_id}-{attempt}")


# --- the send job's steps -----------------------------------------------------------------

@dataclass(frozen=True)
class Claimed:
    id: uuid.UUID
    thread_id: uuid.UUID


def claim_for_send(email_id) -> Claimed | None:
    """QUEUED -> SENDING in one conditional UPDATE: exactly one job gets the row."""
    row = db.session.execute(
        update(EmailMessage).where(EmailMessage.id == email_id, EmailMessage.status == EmailStatus.QUEUED)
        .values(status=EmailStatus.SENDING, claimed_at=func.now(), attempts=EmailMessage.attempts + 1)
        .returning(EmailMessage.id, EmailMessage.thread_id)).one_or_none()
    return Claimed(*row) if row else None


def send_time_refusal(claimed: Claimed) -> str | None:
    """Do-not-contact checked when the e-mail leaves (it may have changed since it was queued)."""
    lead_id = db.session.scalar(select(EmailThread.lead_id).where(EmailThread.id == claimed.thread_id))
    lead = db.session.get(Lead, lead_id) if lead_id else None
    if lead is not None and lead.is_dnc:
        return DO_NOT_CONTACT
    return None


def mail_for(email_id) -> MailMessage:
    message = db.session.get(EmailMessage, email_id)
    return MailMessage(to=message.to_address, subject=message.subject or "", body_text=message.body_text or "",
                       body_html=message.body_html, from_address=message.from_address,
                       message_key=message.message_id, message_id=message.message_id,
                       in_reply_to=message.in_reply_to, references=message.references)


def settle(email_id, status: EmailStatus, *, error: str | None = None,
           only_from=(EmailStatus.SENDING,)) -> bool:
    """Move a row to `status` if it is still in one of `only_from`. True when it moved."""
    values: dict = {"status": status}
    if status is EmailStatus.SENT:
        values["sent_at"] = func.coalesce(EmailMessage.sent_at, func.now())
        values["error"] = None
    if error is not None or status is EmailStatus.FAILED:
        values["error"] = (error or "failed")[:1000]
    moved = db.session.execute(
        update(EmailMessage).where(EmailMessage.id == email_id, EmailMessage.status.in_(only_from))
        .values(**values).returning(EmailMessage.id)).scalar_one_or_none()
    return moved is not None


def record_sent_activity(email_id) -> None:
    message = db.session.get(EmailMessage, email_id)
    lead = message.thread.lead if message is not None else None
    if lead is None:
        return
    from app.auth.models import User

    actor = db.session.get(User, message.user_id) if message.user_id else None
    record("email.sent", f"E-mail to {message.to_address}: {(message.subject or '')[:60]}", actor=actor,
           lead=lead, contact=lead.contact, detail={"email_id": str(message.id)})


# --- inbound ------------------------------------------------------------------------------

def _ids(value: str | None) -> list[str]:
    return _MSGID.findall(value or "")


def match_contact(address: str | None) -> tuple[Contact | None, Lead | None]:
    """The contact with this normalised address and their most recent lead."""
    normalized = normalize_email(parseaddr(address or "")[1] or address)
    if normalized is None:
        return None, None
    row = db.session.execute(
        select(Contact, Lead).outerjoin(Lead, Lead.contact_id == Contact.id)
        .where(Contact.email_normalized == normalized)
        .order_by(Lead.updated_at.desc().nulls_last()).limit(1)).first()
    return (row[0], row[1]) if row else (None, None)


def record_source(account_id, gmail_message_id: str | None, gmail_thread_id: str | None, email_id) -> None:
    """This mailbox's Gmail copy of a stored e-mail (once per account and Gmail id)."""
    if account_id is None or not gmail_message_id:
        return
    db.session.execute(pg_insert(EmailMessageSource).values(
        id=uuid.uuid4(), email_account_id=account_id, gmail_message_id=gmail_message_id,
        gmail_thread_id=gmail_thread_id, email_message_id=email_id)
        .on_conflict_do_nothing(index_elements=[EmailMessageSource.email_account_id,
                                                EmailMessageSource.gmail_message_id]))


def known_gmail_ids(account_id, gmail_ids) -> set[str]:
    """Which of these Gmail ids of the mailbox are stored already (not fetched again)."""
    if not gmail_ids:
        return set()
    return set(db.session.scalars(select(EmailMessageSource.gmail_message_id).where(
        EmailMessageSource.email_account_id == account_id, EmailMessageSource.gmail_message_id.in_(list(gmail_ids)))))


def _gmail_thread(account_id, gmail_thread_id: str | None) -> EmailThread | None:
    if account_id is None or not gmail_thread_id:
        return None
    thread_id = db.session.scalar(
        select(EmailMessage.thread_id).join(EmailMessageSource, EmailMessageSource.email_message_id == EmailMessage.id)
        .where(EmailMessageSource.email_account_id == account_id, EmailMessageSource.gmail_thread_id == gmail_thread_id)
        .limit(1))
    return db.session.get(EmailThread, thread_id) if thread_id else None


def _thread_of(refs: list[str]) -> EmailThread | None:
    if not refs:
        return None
    thread_id = db.session.scalar(
        select(EmailMessage.thread_id).where(EmailMessage.message_id.in_(refs))
        .order_by(EmailMessage.created_at.desc()).limit(1))
    return db.session.get(EmailThread, thread_id) if thread_id else None


def is_unsubscribe(body: str | None) -> bool:
    """The reply's first line is STOP / UNSUBSCRIBE (and the SMS channel's other stop words)."""
    first = next((line for line in (body or "").splitlines() if line.strip()), "")
    return consent_keyword(first) in STOP_WORDS


def ingest_inbound_email(from_address: str, to_address: str, subject: str | None, body: str | None,
                         message_id: str | None, in_reply_to: str | None = None,
                         references: str | None = None, received_at: datetime | None = None, *,
                         account_id=None, gmail_message_id: str | None = None,
                         gmail_thread_id: str | None = None) -> str:
    """Store one inbound e-mail once: a mailbox's Gmail id seen before, or a Message-ID stored
    before (the same e-mail in another rep's mailbox: its copy is noted, not stored again), is a
    duplicate. Threaded by the mailbox's Gmail thread, then In-Reply-To / References, else a new
    thread: the sender's lead's, or one without lead (Unmatched)."""
    at = received_at or datetime.now(UTC)
    if account_id is not None and gmail_message_id and known_gmail_ids(account_id, [gmail_message_id]):
        return "duplicate"
    message_id = (_ids(message_id) or [None])[0] or f"<{uuid.uuid4()}@inbound.invalid>"
    refs = list(dict.fromkeys(_ids(in_reply_to) + list(reversed(_ids(references)))))
    earlier = db.session.scalar(select(EmailMessage.id).where(EmailMessage.message_id == message_id))
    if earlier is not None:
        record_source(account_id, gmail_message_id, gmail_thread_id, earlier)
        return "duplicate"
    contact, lead = match_contact(from_address)
    thread = _gmail_thread(account_id, gmail_thread_id) or _thread_of(refs)
    made_thread = thread is None
    if thread is None:
        thread = EmailThread(id=uuid.uuid4(), lead_id=lead.id if lead else None, subject=subject,
                             email_account_id=account_id or system_account().id, gmail_thread_id=gmail_thread_id)
        db.session.add(thread)
        db.session.flush()
    email_id = uuid.uuid4()
    stored = db.session.execute(
        pg_insert(EmailMessage).values(
            id=email_id, thread_id=thread.id, direction=MessageDirection.INBOUND, from_address=from_address,
            to_address=to_address, subject=subject, body_text=body, status=EmailStatus.RECEIVED,
            message_id=message_id, in_reply_to=(_ids(in_reply_to) or [None])[0],
            references=" ".join(_ids(references)) or None, sent_at=at, created_at=at, attempts=0,
            gmail_message_id=gmail_message_id)
        .on_conflict_do_nothing(index_elements=[EmailMessage.message_id])
        .returning(EmailMessage.id)).scalar_one_or_none()
    if stored is None:  # a concurrent ingest of the same message won
        if made_thread:
            db.session.delete(thread)
            db.session.flush()
        winner = db.session.scalar(select(EmailMessage.id).where(EmailMessage.message_id == message_id))
        if winner is not None:
            record_source(account_id, gmail_message_id, gmail_thread_id, winner)
        return "duplicate"
    record_source(account_id, gmail_message_id, gmail_thread_id, email_id)
    if thread.gmail_thread_id is None and gmail_thread_id and thread.email_account_id == account_id:
        thread.gmail_thread_id = gmail_thread_id
    thread.last_message_at = max(filter(None, [thread.last_message_at, at]))
    thread_lead = thread.lead
    if thread_lead is not None:  # the lead's e-mail conversation in the inbox (unread)
        upsert_conversation(lead_id=thread_lead.id, contact_id=thread_lead.contact_id, user_id=thread_lead.company.assigned_rep_id
                            if thread_lead.company else None, at=at,
                            preview=f"{subject or ''}: {body or ''}", inbound=True, channel=ConversationChannel.EMAIL)
        record("email.received", f"E-mail from {from_address}: {(subject or '')[:60]}", lead=thread_lead,
               contact=thread_lead.contact, detail={"email_id": str(email_id)}, occurred_at=at)
    else:  # an unknown sender: their Unmatched conversation (app.inbox.conversations)
        unmatched_email(thread, from_address, at, f"{subject or ''}: {body or ''}")
    sequence_stops.inbound_email(contact=contact, lead=thread_lead or lead, from_address=from_address, subject=subject, at=at)
    if is_unsubscribe(body):
        opt_out(from_address, thread_lead)
        return "received (opted out)"
    db.session.flush()
    return "received"


def opt_out(from_address: str, thread_lead: Lead | None) -> None:
    """An UNSUBSCRIBE / STOP reply: every lead of the sender's address is do-not-contact."""
    normalized = normalize_email(parseaddr(from_address)[1] or from_address)
    leads = db.session.scalars(
        select(Lead).join(Contact, Contact.id == Lead.contact_id).where(Contact.email_normalized == normalized)
    ).all() if normalized else []
    if thread_lead is not None and thread_lead not in leads:
        leads.append(thread_lead)
    for lead in leads:
        if not lead.is_dnc:
            lead.is_dnc = True
            record("contact.dnc", f"Do not contact: {from_address} replied to unsubscribe", lead=lead,
                   contact=lead.contact, detail={"channel": "EMAIL"})
    db.session.flush()
