"""The queue's writes: done, archive, snooze, assign (one or many conversations), attaching an
unmatched conversation to a contact, and creating the contact and lead an unknown sender is
(from an unmatched conversation or booking). They flush, the view commits."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import select, update

from app.crm.models import Contact, Lead, LeadStage
from app.crm.records import services as records
from app.extensions import db
from app.inbox.models import Conversation, EmailThread, SmsMessage

ACTIONS = ("done", "archive", "unarchive", "snooze_tomorrow", "snooze_week", "assign")


class QueueError(Exception):
    """A refused queue action (the view answers 422 / 409 with the message)."""


def snooze_until(action: str, now: datetime) -> datetime:
    """Tomorrow 9:00, or next Monday 9:00 (UTC)."""
    days = 1 if action == "snooze_tomorrow" else 7 - now.weekday()
    return datetime.combine((now + timedelta(days=days)).date(), time(9), tzinfo=UTC)


def apply(action: str, ids: list[uuid.UUID], *, assignee_id: uuid.UUID | None = None,
          now: datetime | None = None) -> int:
    """Apply one action to the conversations; the number of rows changed."""
    now = now or datetime.now(UTC)
    if action == "done":
        values = dict(done_at=now, awaiting_reply=False, unread_count=0, snoozed_until=None)
    elif action == "archive":
        values = dict(is_archived=True, unread_count=0)
    elif action == "unarchive":
        values = dict(is_archived=False)
    elif action in ("snooze_tomorrow", "snooze_week"):
        values = dict(snoozed_until=snooze_until(action, now), done_at=None)
    elif action == "assign":
        values = dict(user_id=assignee_id)
    else:
        raise QueueError("Unknown action.")
    values["updated_at"] = now
    result = db.session.execute(
        update(Conversation).where(Conversation.id.in_(ids)).values(**values)
        .execution_options(synchronize_session=False))
    return result.rowcount


def lead_for_contact(contact: Contact) -> Lead | None:
    return db.session.scalar(select(Lead).where(Lead.contact_id == contact.id)
                             .order_by(Lead.updated_at.desc().nulls_last()).limit(1))


def attach(conversation: Conversation, contact: Contact, *, actor=None) -> Conversation:
    """An unmatched conversation becomes the contact's (their latest lead's; a contact with
    none gets a new lead in their company): its texts and e-mail threads move with it; when
    the lead already has a conversation on this channel, they join that one."""
    if conversation.lead_id is not None:
        raise QueueError("This conversation is already attached.")
    lead = lead_for_contact(contact)
    if lead is None and contact.company is not None:
        lead = records.open_lead(contact.company, contact_id=contact.id, stage=LeadStage.NEW_LEAD, actor=actor)
    if lead is None:
        raise QueueError(f"{contact.display_name} has no company to open a lead in: add one first.")
    existing = db.session.scalar(select(Conversation).where(
        Conversation.lead_id == lead.id, Conversation.channel == conversation.channel).with_for_update())
    target = existing or conversation
    db.session.execute(update(SmsMessage).where(SmsMessage.conversation_id == conversation.id)
                       .values(conversation_id=target.id, lead_id=lead.id, contact_id=contact.id)
                       .execution_options(synchronize_session=False))
    db.session.execute(update(EmailThread).where(EmailThread.conversation_id == conversation.id)
                       .values(conversation_id=None, lead_id=lead.id)
                       .execution_options(synchronize_session=False))
    if existing is not None:
        if (conversation.last_message_at and (existing.last_message_at is None
                                              or conversation.last_message_at > existing.last_message_at)):
            existing.last_message_at = conversation.last_message_at
            existing.last_message_preview = conversation.last_message_preview
        existing.unread_count = (existing.unread_count or 0) + (conversation.unread_count or 0)
        existing.awaiting_reply = existing.awaiting_reply or conversation.awaiting_reply
        existing.is_archived = False
        db.session.delete(conversation)
    else:
        conversation.lead_id, conversation.contact_id = lead.id, contact.id
        conversation.unmatched_address = None
        if conversation.user_id is None and lead.company is not None:
            conversation.user_id = lead.company.assigned_rep_id
    db.session.flush()
    return target


def create_contact_and_lead(*, company_name: str, first_name: str | None, last_name: str | None,
                            email: str | None, phone: str | None, actor) -> Lead:
    """An unknown sender becomes a company (the rep's), its contact and a new lead. A contact
    who already has this e-mail or phone is refused (attach to them instead); a bad e-mail or
    phone is refused with the field (records.RecordError)."""
    duplicates = records.contact_duplicates(email=email, phone=phone)
    if duplicates:
        dup = duplicates[0]
        what = " and ".join(reason.removeprefix("same ") for reason in dup.reasons)
        raise records.RecordError(f"{dup.record.display_name} already has this {what}: attach to them instead.")
    company, _ = records.save_company({"name": company_name, "assigned_rep_id": actor.id}, actor=actor,
                                      allow_duplicates=True)
    if company is None:
        raise records.RecordError("A company with these details exists: attach to its contact instead.", "company_name")
    contact, _ = records.save_contact({"company_id": company.id, "first_name": first_name, "last_name": last_name,
                                       "email": email, "phone": phone}, actor=actor, allow_duplicates=True)
    db.session.expire(company, ["contacts"])
    return records.open_lead(company, contact_id=contact.id, stage=LeadStage.NEW_LEAD, actor=actor)
