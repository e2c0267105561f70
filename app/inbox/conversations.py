"""What every channel of the inbox shares: the lead's conversation per channel (and an unknown
sender's Unmatched one), marking a lead's conversations read, and the words with which a
customer stops or restarts contact (the same on SMS and in an e-mail reply).

An inbox item is whatever touches a conversation: a text, an e-mail, a call (a missed or
voicemail inbound call needs a reply; any other call answers), a Cal.com booking (created,
rescheduled, cancelled: news for the rep). Calls and bookings are items of the lead's CALL
conversation; `last_kind` says what the last item was (the queue's label and icon)."""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, DateTime, String, Uuid, bindparam, case, func, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from app.extensions import db
from app.inbox.models import Conversation, ConversationChannel, ConversationKind

STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
START_WORDS = frozenset({"START", "UNSTOP"})


def consent_keyword(text: str | None) -> str:
    """A message as a keyword: trimmed, upper case, a trailing "." or "!" ignored. Only a
    message that is the word alone counts (a sentence that contains "stop" does not)."""
    return (text or "").strip().strip(".!").strip().upper()


DEFAULT_KIND = {ConversationChannel.SMS: ConversationKind.SMS, ConversationChannel.EMAIL: ConversationKind.EMAIL,
                ConversationChannel.CALL: ConversationKind.CALL}


# Written once as SQL: SQLAlchemy does not cache a compiled PostgreSQL INSERT .. ON CONFLICT
# (its `Insert` has inherit_cache = False), and building and compiling the construct cost
# ~1-2 ms on every message sent. A text() statement is compiled once and kept.
_UPSERT_CONVERSATION = text("""
INSERT INTO conversations (id, lead_id, contact_id, user_id, channel, last_message_at, last_message_preview,
                           unread_count, is_archived, awaiting_reply, last_kind)
VALUES (CAST(:id AS UUID), CAST(:lead_id AS UUID), CAST(:contact_id AS UUID), CAST(:user_id AS UUID),
        CAST(:channel AS conversation_channel), :at, :preview, CASE WHEN :inbound THEN 1 ELSE 0 END, false,
        :inbound, :kind)
ON CONFLICT (lead_id, channel) DO UPDATE SET
  contact_id = coalesce(conversations.contact_id, excluded.contact_id),
  user_id = coalesce(conversations.user_id, excluded.user_id),
  last_message_at = greatest(conversations.last_message_at, excluded.last_message_at),
  last_message_preview = CASE WHEN excluded.last_message_at >= coalesce(conversations.last_message_at,
      excluded.last_message_at) THEN excluded.last_message_preview ELSE conversations.last_message_preview END,
  last_kind = CASE WHEN excluded.last_message_at >= coalesce(conversations.last_message_at, excluded.last_message_at)
      THEN excluded.last_kind ELSE conversations.last_kind END,
  unread_count = conversations.unread_count + CASE WHEN :inbound THEN 1 ELSE 0 END,
  is_archived = CASE WHEN :inbound AND excluded.last_message_at >= coalesce(conversations.last_message_at,
      excluded.last_message_at) THEN false ELSE conversations.is_archived END,
  awaiting_reply = CASE WHEN :inbound THEN true
      WHEN excluded.last_message_at >= coalesce(conversations.last_message_at, excluded.last_message_at) THEN false
      ELSE conversations.awaiting_reply END,
  done_at = CASE WHEN :inbound THEN NULL ELSE conversations.done_at END,
  snoozed_until = CASE WHEN :inbound THEN NULL ELSE conversations.snoozed_until END,
  updated_at = now()
RETURNING conversations.id""").bindparams(
    bindparam("id", type_=Uuid()), bindparam("lead_id", type_=Uuid()), bindparam("contact_id", type_=Uuid()),
    bindparam("user_id", type_=Uuid()), bindparam("channel", type_=String()),
    bindparam("at", type_=DateTime(timezone=True)), bindparam("preview", type_=String()),
    bindparam("inbound", type_=Boolean()), bindparam("kind", type_=String()),
).columns(id=Uuid())


def upsert_conversation(*, lead_id, contact_id, user_id, at: datetime, preview: str,
                        inbound: bool, channel: ConversationChannel = ConversationChannel.SMS,
                        kind: ConversationKind | None = None) -> uuid.UUID:
    """The lead's conversation on `channel` (one per lead and channel), moved to this item.
    `inbound`: the item needs a reaction (unread, back in Needs reply); otherwise it answers."""
    kind = kind or DEFAULT_KIND[channel]
    return db.session.execute(_UPSERT_CONVERSATION, {
        "id": uuid.uuid4(), "lead_id": lead_id, "contact_id": contact_id, "user_id": user_id,
        "channel": channel.name, "at": at, "preview": preview[:200], "inbound": bool(inbound),
        "kind": kind.value}).scalar_one()


def unmatched_conversation(*, channel: ConversationChannel, address: str, at: datetime,
                           preview: str) -> uuid.UUID:
    """An unknown sender's conversation (no lead): one per channel and number / address (the
    partial unique index), moved to this inbound item, unread and needing a reply."""
    table = Conversation.__table__
    stmt = pg_insert(Conversation).values(
        id=uuid.uuid4(), lead_id=None, contact_id=None, user_id=None, channel=channel, last_message_at=at,
        last_message_preview=preview[:200], unread_count=1, is_archived=False, awaiting_reply=True,
        last_kind=DEFAULT_KIND[channel].value, unmatched_address=address)
    newer = stmt.excluded.last_message_at >= func.coalesce(table.c.last_message_at, stmt.excluded.last_message_at)
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.channel, table.c.unmatched_address],
        index_where=text("lead_id IS NULL AND unmatched_address IS NOT NULL"),
        set_={
            "last_message_at": func.greatest(table.c.last_message_at, stmt.excluded.last_message_at),
            "last_message_preview": case((newer, stmt.excluded.last_message_preview),
                                         else_=table.c.last_message_preview),
            "unread_count": table.c.unread_count + 1,
            "is_archived": case((newer, False), else_=table.c.is_archived),
            "awaiting_reply": True, "done_at": None, "snoozed_until": None,
            "updated_at": func.now(),
        })
    return db.session.execute(stmt.returning(Conversation.id)).scalar_one()


def mark_read(lead_id) -> int:
    """A rep opened the lead's conversation: every channel of it is read (the number changed)."""
    result = db.session.execute(
        update(Conversation).where(Conversation.lead_id == lead_id, Conversation.unread_count > 0)
        .values(unread_count=0, updated_at=func.now()).execution_options(synchronize_session=False))
    return result.rowcount


def unmatched_email(thread, from_address: str, at: datetime, preview: str) -> uuid.UUID | None:
    """An e-mail thread from an unknown sender joins the sender's Unmatched conversation
    (keyed by the normalised address; attach / create-lead move the thread with it)."""
    from email.utils import parseaddr

    from app.crm.records.normalize import normalize_email

    address = normalize_email(parseaddr(from_address or "")[1] or from_address)
    if address is None:
        return None
    conversation_id = unmatched_conversation(channel=ConversationChannel.EMAIL, address=address, at=at,
                                             preview=preview)
    thread.conversation_id = conversation_id
    db.session.flush()
    return conversation_id
