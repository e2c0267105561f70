"""The queue's writes: done, archive, snooze, assign (one or many conversations) and
attaching an unmatched conversation to a contact. They flush, the view commits."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import select, update

from app.crm.models import Contact, Lead
from app.extensions import db
from app.inbox.models import Conversation, SmsMessage

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


def attach(conversation: Conversation, contact: Contact) -> Conversation:
    """An unmatched conversation becomes the contact's (their latest lead's): its texts move
    with it; when the lead already has a conversation on this channel, they join that one."""
    if conversation.lead_id is not None:
        raise QueueError("This conversation is already attached.")
    lead = lead_for_contact(contact)
    if lead is None:
        raise QueueError(f"{contact.display_name} has no lead to attach it to.")
    existing = db.session.scalar(select(Conversation).where(
        Conversation.lead_id == lead.id, Conversation.channel == conversation.channel).with_for_update())
    target = existing or conversation
    db.session.execute(update(SmsMessage).where(SmsMessage.conversation_id == conversation.id)
                       .values(conversation_id=target.id, lead_id=lead.id, contact_id=contact.id)
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
        if conversation.user_id is None and lead.company is not None:
            conversation.user_id = lead.company.assigned_rep_id
    db.session.flush()
    return target
