"""The SMS channel's rules: gateways (credentials encrypted), sending (a QUEUED row and its
job in the caller's transaction; the job claims the row, checks do-not-contact at send time,
sends with the row's id, records the result), the reconciler for rows left SENDING, and the
gateway's webhook events (inbound messages, statuses that never go backwards, STOP/START).

Services flush, never commit (the jobs in jobs.py commit)."""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from app.activity.services import record
from app.crm.models import Contact, Lead
from app.crm.records.normalize import phone_to_e164
from app.extensions import db
from app.inbox.conversations import (
    START_WORDS,
    STOP_WORDS,
    consent_keyword,
    unmatched_conversation,
    upsert_conversation,
)
from app.inbox.models import (
    ConversationChannel,
    MessageDirection,
    SmsGateway,
    SmsMessage,
    SmsStatus,
)
from app.inbox.sms.backends import Gateway, GatewayState, Lookup, get_sms_backend, sms_enabled
from app.inbox.sms.segments import count_segments
from app.integrations.secrets import decrypt, encrypt
from app.queue import enqueue
from app.sequences import stops as sequence_stops

log = logging.getLogger("crm.sms")

OFFLINE_AFTER = timedelta(hours=1)
DO_NOT_CONTACT = "do not contact"
# A status only moves forward: a late or repeated event never takes a message back.
RANK = {SmsStatus.QUEUED: 0, SmsStatus.SENDING: 1, SmsStatus.SENT: 2, SmsStatus.FAILED: 3,
        SmsStatus.DELIVERED: 4}
EVENT_STATUS = {"sms:sent": SmsStatus.SENT, "sms:delivered": SmsStatus.DELIVERED,
                "sms:failed": SmsStatus.FAILED}


class SmsRefused(Exception):
    """Why this text cannot be sent (shown to the rep)."""


# --- gateways -----------------------------------------------------------------------------

def save_gateway(gateway: SmsGateway | None, *, user_id, label: str, gateway_url: str, username: str,
                 password: str | None, from_number: str, is_active: bool) -> SmsGateway:
    """Add or edit a gateway; an empty password on edit keeps the stored one."""
    e164, _, _ = phone_to_e164(from_number)
    if e164 is None:
        raise SmsRefused("The phone's number is not a valid phone number.")
    if gateway is None:
        if not password:
            raise SmsRefused("The gateway's password is required.")
        gateway = SmsGateway(id=uuid.uuid4())
        db.session.add(gateway)
    gateway.user_id = user_id
    gateway.label = label.strip()
    gateway.gateway_url = gateway_url.strip().rstrip("/")
    gateway.username = username.strip()
    if password:
        gateway.password_encrypted = encrypt(password)
    gateway.from_number = from_number.strip()
    gateway.from_number_e164 = e164
    gateway.is_active = is_active
    db.session.flush()
    return gateway


def gateway_offline(gateway: SmsGateway, now: datetime | None = None) -> bool:
    now = now or datetime.now(UTC)
    return gateway.last_seen_at is None or gateway.last_seen_at < now - OFFLINE_AFTER


def gateway_for_user(user_id) -> SmsGateway | None:
    return db.session.scalar(
        select(SmsGateway).where(SmsGateway.user_id == user_id, SmsGateway.is_active.is_(True))
        .order_by(SmsGateway.created_at.desc()).limit(1))


def credentials(gateway: SmsGateway) -> Gateway:
    return Gateway(url=gateway.gateway_url, username=gateway.username,
                   password=decrypt(gateway.password_encrypted), from_number=gateway.from_number_e164)


# --- sending ------------------------------------------------------------------------------

_LOOK_UP = object()


def refusal(lead: Lead, contact: Contact | None, actor, *, gateway=_LOOK_UP) -> str | None:
    """Why `actor` cannot text this lead now (None: they can). `gateway`: the actor's, when
    the caller has read it already."""
    if not sms_enabled():
        return "Texting is not configured (SMS_BACKEND)."
    if lead.is_dnc:
        return "Do not contact: this lead asked not to be contacted."
    if contact is None or not contact.phone_e164:
        return "The contact has no phone number."
    if not contact.is_sms_eligible:
        return "The contact's number cannot receive texts (not SMS-eligible)."
    if (gateway_for_user(actor.id) if gateway is _LOOK_UP else gateway) is None:
        return "You have no SMS gateway: add your phone under Settings → SMS gateways."
    return None


def validate_body(body: str) -> str:
    body = (body or "").strip()
    if not body:
        raise SmsRefused("Write a message first.")
    parts = count_segments(body)
    if parts.too_long:
        raise SmsRefused(f"Too long: {parts.segments} parts (at most 10).")
    return body




def send_sms(lead: Lead, *, body: str, actor) -> SmsMessage:
    """Write the text (QUEUED) and its send job in the caller's transaction."""
    contact = lead.contact
    gateway = gateway_for_user(actor.id)
    reason = refusal(lead, contact, actor, gateway=gateway)
    if reason:
        raise SmsRefused(reason)
    body = validate_body(body)
    backend = get_sms_backend()
    now = datetime.now(UTC)
    conversation_id = upsert_conversation(lead_id=lead.id, contact_id=contact.id, user_id=actor.id, at=now,
                                          preview=body, inbound=False)
    message = SmsMessage(id=uuid.uuid4(), lead_id=lead.id, contact_id=contact.id,
                         direction=MessageDirection.OUTBOUND, from_number=gateway.from_number_e164,
                         to_number=contact.phone_e164, body=body, provider=backend.name,
                         status=SmsStatus.QUEUED, gateway_id=gateway.id, conversation_id=conversation_id,
                         attempts=0, created_at=now)
    db.session.add(message)
    db.session.flush()
    enqueue_send(message.id, 0)
    return message


def enqueue_send(sms_id: uuid.UUID, attempt: int) -> None:
    enqueue("sms", "app.inbox.sms.jobs.send_sms", sms_id, job_id=f"sms-send-{sms_id}-{attempt}")


@dataclass(frozen=True)
class Claimed:
    id: uuid.UUID
    lead_id: uuid.UUID | None
    contact_id: uuid.UUID | None
    gateway_id: uuid.UUID | None
    to_number: str
    body: str


def claim_for_send(sms_id) -> Claimed | None:
    """QUEUED -> SENDING in one conditional UPDATE: exactly one job gets the row."""
    row = db.session.execute(
        update(SmsMessage).where(SmsMessage.id == sms_id, SmsMessage.status == SmsStatus.QUEUED)
        .values(status=SmsStatus.SENDING, claimed_at=func.now(), attempts=SmsMessage.attempts + 1)
        .returning(SmsMessage.id, SmsMessage.lead_id, SmsMessage.contact_id, SmsMessage.gateway_id,
                   SmsMessage.to_number, SmsMessage.body)).one_or_none()
    return Claimed(*row) if row else None


def send_time_refusal(claimed: Claimed) -> str | None:
    """Do-not-contact checked when the text leaves (it may have changed since it was queued)."""
    lead = db.session.get(Lead, claimed.lead_id) if claimed.lead_id else None
    contact = db.session.get(Contact, claimed.contact_id) if claimed.contact_id else None
    if (lead is not None and lead.is_dnc) or (contact is not None and not contact.is_sms_eligible):
        return DO_NOT_CONTACT
    if claimed.gateway_id is None:
        return "no SMS gateway"
    gateway = db.session.get(SmsGateway, claimed.gateway_id)
    if gateway is None or not gateway.is_active:
        return "the SMS gateway is switched off"
    return None


def settle(sms_id, status: SmsStatus, *, error: str | None = None, only_from=(SmsStatus.SENDING,)) -> bool:
    """Move a row to `status` if it is still in one of `only_from`. True when it moved."""
    values = {"status": status}
    if status in (SmsStatus.SENT, SmsStatus.DELIVERED):
        values["sent_at"] = func.coalesce(SmsMessage.sent_at, func.now())
    if error is not None or status is SmsStatus.FAILED:
        values["error"] = (error or "failed")[:1000]
    moved = db.session.execute(
        update(SmsMessage).where(SmsMessage.id == sms_id, SmsMessage.status.in_(only_from))
        .values(**values).returning(SmsMessage.id)).scalar_one_or_none()
    return moved is not None


def record_sent_activity(sms_id) -> None:
    message = db.session.get(SmsMessage, sms_id)
    if message is None or message.lead_id is None:
        return
    lead = db.session.get(Lead, message.lead_id)
    gateway = db.session.get(SmsGateway, message.gateway_id) if message.gateway_id else None
    record("sms.sent", f"SMS to {message.to_number}: {message.body[:60]}",
           actor=gateway.user if gateway else None, lead=lead, contact=lead.contact,
           detail={"sms_id": str(message.id)})


def stuck_sends(now: datetime | None = None, older_than: timedelta | None = None, limit: int = 200):
    """(id, attempts) of rows left SENDING longer than the reconcile delay."""
    from flask import current_app

    now = now or datetime.now(UTC)
    older_than = older_than or timedelta(seconds=current_app.config["SMS_RECONCILE_AFTER_S"])
    return db.session.execute(
        select(SmsMessage.id, SmsMessage.attempts)
        .where(SmsMessage.status == SmsStatus.SENDING, SmsMessage.claimed_at < now - older_than)
        .order_by(SmsMessage.claimed_at).limit(limit)).all()


def reconcile(sms_id) -> str:
    """Settle a row left SENDING by asking the gateway about its id, never by sending blindly:
    the gateway has it → its state; it has no such message → QUEUED again and a new send job
    (the same id: the gateway would answer 409 to a second copy anyway)."""
    message = db.session.get(SmsMessage, sms_id)
    if message is None or message.status is not SmsStatus.SENDING:
        return "not sending"
    gateway = db.session.get(SmsGateway, message.gateway_id) if message.gateway_id else None
    if gateway is None:
        settle(sms_id, SmsStatus.FAILED, error="no SMS gateway")
        return "failed"
    found: Lookup | None = get_sms_backend().lookup(credentials(gateway), message.id)
    if found is None:
        if settle(sms_id, SmsStatus.QUEUED, error=None):
            enqueue_send(message.id, message.attempts)
        return "requeued"
    if found.state is GatewayState.FAILED:
        settle(sms_id, SmsStatus.FAILED, error=found.error or "the gateway could not send it")
        return "failed"
    status = SmsStatus.DELIVERED if found.state is GatewayState.DELIVERED else SmsStatus.SENT
    if settle(sms_id, status):
        record_sent_activity(sms_id)
    return status.value.lower()


# --- the gateway's events -----------------------------------------------------------------

def _our_number(event: str, payload: dict) -> str | None:
    number = payload.get("recipient") if event == "sms:received" else payload.get("sender")
    return number if isinstance(number, str) else None


def touch_gateway(number: str | None, at: datetime, sms_id=None) -> None:
    """lastSeenAt: the gateway the event came from (its number, or the message's gateway)."""
    conditions = []
    if number:
        conditions.append(SmsGateway.from_number_e164 == number)
    if sms_id is not None:
        conditions.append(SmsGateway.id == select(SmsMessage.gateway_id).where(SmsMessage.id == sms_id)
                          .scalar_subquery())
    if not conditions:
        return
    from sqlalchemy import or_

    db.session.execute(update(SmsGateway).where(or_(*conditions))
                       .values(last_seen_at=func.greatest(func.coalesce(SmsGateway.last_seen_at, at), at)))


def _uuid(value) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError):
        return None


def apply_event(envelope: dict, received_at: datetime) -> str:
    """Apply one stored gateway event (idempotent: a repeat changes nothing)."""
    event = envelope.get("event")
    payload = envelope.get("payload") if isinstance(envelope.get("payload"), dict) else {}
    sms_id = _uuid(payload.get("messageId")) if event in EVENT_STATUS else None
    touch_gateway(_our_number(event, payload), received_at, sms_id)
    if event == "sms:received":
        return receive(envelope, payload, received_at)
    if event in EVENT_STATUS:
        if sms_id is None:
            return "unknown message"
        return apply_status(sms_id, EVENT_STATUS[event], payload)
    return "ignored"


def apply_status(sms_id: uuid.UUID, status: SmsStatus, payload: dict) -> str:
    lower = [s for s, rank in RANK.items() if rank < RANK[status]]
    error = str(payload.get("reason") or "the phone could not send it") if status is SmsStatus.FAILED else None
    was_sent = db.session.scalar(select(SmsMessage.status).where(SmsMessage.id == sms_id))
    if was_sent is None:
        return "unknown message"
    if not settle(sms_id, status, error=error, only_from=lower):
        return "no change"
    if was_sent in (SmsStatus.QUEUED, SmsStatus.SENDING) and status is not SmsStatus.FAILED:
        record_sent_activity(sms_id)  # the job died before recording it: the event says so
    return status.value.lower()


def match_lead(number: str) -> tuple[Contact | None, Lead | None]:
    """The contact with this E.164 number and their most recent lead."""
    row = db.session.execute(
        select(Contact, Lead).outerjoin(Lead, Lead.contact_id == Contact.id)
        .where(Contact.phone_e164 == number)
        .order_by(Lead.updated_at.desc().nulls_last(), Contact.created_at.desc()).limit(1)).first()
    return (row[0], row[1]) if row else (None, None)


def _parse_time(value, default: datetime) -> datetime:
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return default
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def receive(envelope: dict, payload: dict, received_at: datetime) -> str:
    """An inbound text: once per content id (the gateway re-delivers with new envelope ids)."""
    sender, text, content_id = payload.get("sender") or payload.get("phoneNumber"), payload.get("message"), \
        payload.get("messageId")
    if not isinstance(sender, str) or not isinstance(text, str) or not content_id:
        return "not a message"
    number = phone_to_e164(sender)[0] or sender
    ours = payload.get("recipient") if isinstance(payload.get("recipient"), str) else ""
    key = f"{envelope.get('deviceId') or ours}:{content_id}"
    at = _parse_time(payload.get("receivedAt"), received_at)
    sms_id = uuid.uuid4()
    stored = db.session.execute(
        pg_insert(SmsMessage).values(
            id=sms_id, direction=MessageDirection.INBOUND, from_number=number, to_number=ours, body=text,
            provider="android_gateway", status=SmsStatus.DELIVERED, sent_at=at, created_at=at,
            inbound_key=key, attempts=0)
        .on_conflict_do_nothing(index_elements=[SmsMessage.inbound_key])
        .returning(SmsMessage.id)).scalar_one_or_none()
    if stored is None:
        return "duplicate"
    contact, lead = match_lead(number)
    gateway = db.session.scalar(select(SmsGateway).where(SmsGateway.from_number_e164 == ours).limit(1)) \
        if ours else None
    if lead is not None:
        conversation_id = upsert_conversation(
            lead_id=lead.id, contact_id=contact.id, user_id=gateway.user_id if gateway else None, at=at,
            preview=text, inbound=True)
    else:
        conversation_id = unmatched_conversation(channel=ConversationChannel.SMS, address=number, at=at,
                                                 preview=text)
    db.session.execute(update(SmsMessage).where(SmsMessage.id == sms_id).values(
        lead_id=lead.id if lead else None, contact_id=contact.id if contact else None,
        gateway_id=gateway.id if gateway else None, conversation_id=conversation_id))
    if lead is not None:
        record("sms.received", f"SMS from {number}: {text[:60]}", lead=lead, contact=contact,
               detail={"sms_id": str(sms_id)}, occurred_at=at)
    sequence_stops.inbound_sms(contact=contact, lead=lead, from_number=number, at=at)
    keyword = consent_keyword(text)
    if keyword in STOP_WORDS:
        opt_out(number, keyword)
        return "received (opted out)"
    if keyword in START_WORDS:
        opt_in(number, keyword)
        return "received (opted in)"
    return "received"


def _contacts_and_leads(number: str):
    contacts = db.session.scalars(select(Contact).where(Contact.phone_e164 == number)).all()
    leads = db.session.scalars(select(Lead).where(Lead.contact_id.in_([c.id for c in contacts]))).all() \
        if contacts else []
    return contacts, leads


def opt_out(number: str, keyword: str) -> None:
    """STOP and its variants: every lead of this number is do-not-contact, no texts."""
    contacts, leads = _contacts_and_leads(number)
    for contact in contacts:
        contact.is_sms_eligible = False
    for lead in leads:
        lead.is_dnc = True
        record("contact.dnc", f"Do not contact: {number} texted {keyword}", lead=lead, contact=lead.contact,
               detail={"keyword": keyword, "channel": "SMS"})
    db.session.flush()


def opt_in(number: str, keyword: str) -> None:
    """START / UNSTOP: texting this number is allowed again (if the number can take texts)."""
    contacts, leads = _contacts_and_leads(number)
    for contact in contacts:
        contact.is_sms_eligible = phone_to_e164(contact.phone_e164 or contact.phone)[2]
    for lead in leads:
        lead.is_dnc = False
        record("contact.resubscribed", f"Re-subscribed: {number} texted {keyword}", lead=lead,
               contact=lead.contact, detail={"keyword": keyword, "channel": "SMS"})
    db.session.flush()
