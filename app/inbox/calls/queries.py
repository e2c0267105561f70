"""Page loads for calls: the call lists page and the dialer's context of one lead."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload

from app.auth.models import User
from app.billing.models import Invoice, InvoiceStatus
from app.crm.models import Lead, Note
from app.extensions import db
from app.inbox.calls.models import CallListClaim
from app.inbox.models import CallList, CallLog, EmailMessage, EmailThread, SmsMessage, VoicemailDrop

OPEN_INVOICE_STATUSES = (InvoiceStatus.SENT, InvoiceStatus.PARTIAL)


@dataclass
class ListRow:
    id: uuid.UUID
    name: str
    size: int
    done: int
    owner: str | None
    created_at: object
    is_active: bool

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.size) if self.size else 100


def call_lists(limit: int = 100) -> list[ListRow]:
    """Every call list, newest first, with its size, how many leads are done and its owner
    (one statement)."""
    done = (select(func.count()).where(CallListClaim.call_list_id == CallList.id,
                                       CallListClaim.completed_at.is_not(None))
            .correlate(CallList).scalar_subquery())
    rows = db.session.execute(
        select(CallList.id, CallList.name, func.cardinality(CallList.lead_ids), done, User.first_name,
               User.last_name, CallList.created_at, CallList.is_active)
        .outerjoin(User, User.id == CallList.created_by_id)
        .order_by(CallList.created_at.desc(), CallList.id.desc()).limit(limit)).all()
    return [ListRow(id, name, size or 0, done or 0, f"{first} {last}" if first else None, created, active)
            for id, name, size, done, first, last, created, active in rows]


@dataclass
class Message:
    channel: str
    direction: str
    at: object
    text: str


@dataclass
class LeadContext:
    lead: Lead
    messages: list[Message] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    calls: list[CallLog] = field(default_factory=list)
    invoice: Invoice | None = None
    balance: Decimal | None = None


def lead_context(lead_id: uuid.UUID) -> LeadContext | None:
    """What a rep reads before dialling: the lead, its last messages (SMS and e-mail), last
    notes, last calls and the open invoice with a balance."""
    lead = db.session.scalar(select(Lead).where(Lead.id == lead_id)
                             .options(joinedload(Lead.contact), joinedload(Lead.company)))
    if lead is None:
        return None
    ctx = LeadContext(lead)
    sms = db.session.execute(select(SmsMessage.direction, SmsMessage.created_at, SmsMessage.body)
                             .where(SmsMessage.lead_id == lead_id)
                             .order_by(SmsMessage.created_at.desc()).limit(3)).all()
    mail = db.session.execute(
        select(EmailMessage.direction, func.coalesce(EmailMessage.sent_at, EmailMessage.created_at),
               EmailMessage.subject, EmailMessage.body_text)
        .join(EmailThread, EmailThread.id == EmailMessage.thread_id).where(EmailThread.lead_id == lead_id)
        .order_by(func.coalesce(EmailMessage.sent_at, EmailMessage.created_at).desc()).limit(3)).all()
    messages = [Message("SMS", d.value, at, body) for d, at, body in sms]
    messages += [Message("E-mail", d.value, at, " — ".join(p for p in (subject, (body or "")[:200]) if p))
                 for d, at, subject, body in mail]
    ctx.messages = sorted(messages, key=lambda m: m.at, reverse=True)[:3]
    ctx.notes = list(db.session.scalars(select(Note).where(Note.lead_id == lead_id).options(joinedload(Note.author))
                                        .order_by(Note.created_at.desc()).limit(3)))
    ctx.calls = list(db.session.scalars(select(CallLog).where(CallLog.lead_id == lead_id)
                                        .order_by(CallLog.created_at.desc()).limit(3)))
    where = [Invoice.lead_id == lead_id]
    if lead.company_id:
        where.append(Invoice.company_id == lead.company_id)
    ctx.invoice = db.session.scalar(select(Invoice).where(or_(*where), Invoice.status.in_(OPEN_INVOICE_STATUSES),
                                                          Invoice.balance_due > 0)
                                    .order_by(Invoice.created_at.desc()).limit(1))
    return ctx


def voicemail_drops() -> list[VoicemailDrop]:
    return list(db.session.scalars(select(VoicemailDrop).order_by(VoicemailDrop.is_default.desc(),
                                                                  VoicemailDrop.name)))
