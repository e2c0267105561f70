"""What every channel of the inbox shares: the lead's conversation per channel, and the words
with which a customer stops or restarts contact (the same on SMS and in an e-mail reply)."""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import case, func
from sqlalchemy.dialects.postgresql import insert as pg_insert

from app.extensions import db
from app.inbox.models import Conversation, ConversationChannel

STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
START_WORDS = frozenset({"START", "UNSTOP"})


def consent_keyword(text: str | None) -> str:
    """A message as a keyword: trimmed, upper case, a trailing "." or "!" ignored. Only a
    message that is the word alone counts (a sentence that contains "stop" does not)."""
    return (text or "").strip().strip(".!").strip().upper()


def upsert_conversation(*, lead_id, contact_id, user_id, at: datetime, preview: str,
                        inbound: bool, channel: ConversationChannel = ConversationChannel.SMS) -> uuid.UUID:
    """The lead's conversation on `channel` (one per lead and channel), moved to this message."""
    table = Conversation.__table__
    stmt = pg_insert(Conversation).values(
        id=uuid.uuid4(), lead_id=lead_id, contact_id=contact_id, user_id=user_id,
        channel=channel, last_message_at=at, last_message_preview=preview[:200],
        unread_count=1 if inbound else 0, is_archived=False, awaiting_reply=inbound)
    newer = stmt.excluded.last_message_at >= func.coalesce(table.c.last_message_at, stmt.excluded.last_message_at)
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.lead_id, table.c.channel],
        set_={
            "last_message_at": func.greatest(table.c.last_message_at, stmt.excluded.last_message_at),
            "last_message_preview": case((newer, stmt.excluded.last_message_preview),
                                         else_=table.c.last_message_preview),
            "unread_count": table.c.unread_count + (1 if inbound else 0),
            "is_archived": case((newer, False), else_=table.c.is_archived) if inbound else table.c.is_archived,
            **({"awaiting_reply": True, "done_at": None, "snoozed_until": None} if inbound
               else {"awaiting_reply": case((newer, False), else_=table.c.awaiting_reply)}),
            "contact_id": func.coalesce(table.c.contact_id, stmt.excluded.contact_id),
            "user_id": func.coalesce(table.c.user_id, stmt.excluded.user_id),
            "updated_at": func.now(),
        })
    return db.session.execute(stmt.returning(Conversation.id)).scalar_one()
