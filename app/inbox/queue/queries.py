"""The queue's reads: one page of conversations for a tab and filters (keyset on
last_message_at, id), and the nav badge's one COUNT."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import joinedload

from app.crm.models import Contact
from app.extensions import db
from app.inbox.models import Conversation, ConversationChannel, MessageDirection, SmsMessage
from app.paging import Keyset, split_page

TABS = ("needs_reply", "done", "snoozed", "all", "unmatched")
PAGE_SIZE = 50
KEYSET = Keyset(Conversation.last_message_at, Conversation.id, descending=True, kind=datetime)


@dataclass(frozen=True)
class QueueFilter:
    tab: str = "needs_reply"
    mine: bool = False
    channel: ConversationChannel | None = None
    unread: bool = False
    archived: bool = False

    @classmethod
    def from_args(cls, args) -> QueueFilter:
        """From GET params; anything that does not read is the default (a list, not a form)."""
        tab = args.get("tab") if args.get("tab") in TABS else "needs_reply"
        try:
            channel = ConversationChannel(args.get("channel")) if args.get("channel") else None
        except ValueError:
            channel = None
        return cls(tab=tab, mine=args.get("mine") == "1", channel=channel,
                   unread=args.get("unread") == "1", archived=args.get("archived") == "1")

    def args(self, **changes) -> dict:
        """The GET params of this filter (with changes), for links and the tabs."""
        values = dict(tab=self.tab, mine=self.mine, channel=self.channel.value if self.channel else None,
                      unread=self.unread, archived=self.archived)
        values.update(changes)
        return {k: ("1" if v is True else v) for k, v in values.items() if v not in (None, False, "")}


def _conditions(f: QueueFilter, user_id: uuid.UUID, now: datetime) -> list:
    """Booleans as plain `awaiting_reply` / `NOT is_archived`, not `IS true`: the partial
    indexes of migration 0023 (and the badge's) are only used in these words."""
    c = Conversation
    where = [c.last_message_at.isnot(None), c.is_archived if f.archived else ~c.is_archived]
    if f.tab == "needs_reply":
        where += [c.awaiting_reply, c.done_at.is_(None),
                  or_(c.snoozed_until.is_(None), c.snoozed_until <= now)]
    elif f.tab == "done":
        where.append(c.done_at.isnot(None))
    elif f.tab == "snoozed":
        where.append(c.snoozed_until > now)
    elif f.tab == "unmatched":
        where.append(c.lead_id.is_(None))
    if f.mine:
        where.append(c.user_id == user_id)
    if f.channel is not None:
        where.append(c.channel == f.channel)
    if f.unread:
        where.append(c.unread_count > 0)
    return where


def _number():
    """An unmatched conversation's number: its latest inbound text's sender."""
    return (select(SmsMessage.from_number)
            .where(SmsMessage.conversation_id == Conversation.id,
                   SmsMessage.direction == MessageDirection.INBOUND)
            .order_by(SmsMessage.created_at.desc()).limit(1)
            .correlate(Conversation).scalar_subquery())


@dataclass(frozen=True)
class Row:
    conversation: Conversation
    number: str | None


def queue_page(f: QueueFilter, *, user_id: uuid.UUID, cursor: str | None = None,
               now: datetime | None = None, limit: int = PAGE_SIZE) -> tuple[list[Row], str | None]:
    """One page of the queue, newest first, and the next page's cursor (None at the end).
    One statement whatever the page holds."""
    now = now or datetime.now(UTC)
    query = (select(Conversation, _number().label("number"))
             .where(and_(*_conditions(f, user_id, now)))
             .options(joinedload(Conversation.contact).joinedload(Contact.company),
                      joinedload(Conversation.user)))
    query = KEYSET.continue_after(query, cursor).order_by(*KEYSET.order_by()).limit(limit + 1)
    rows, more = split_page(db.session.execute(query).unique().all(), limit)
    page = [Row(conversation, number) for conversation, number in rows]
    last = page[-1].conversation if page else None
    return page, (KEYSET.cursor(last.last_message_at, last.id) if more and last else None)


def unread_count(user_id: uuid.UUID) -> int:
    """The nav badge: unread conversations that are the rep's or nobody's (one COUNT on
    ix_conversations_unread)."""
    return db.session.scalar(
        select(func.count()).select_from(Conversation)
        .where(Conversation.unread_count > 0, ~Conversation.is_archived,
               or_(Conversation.user_id == user_id, Conversation.user_id.is_(None))))


def matching_ids(f: QueueFilter, *, user_id: uuid.UUID, now: datetime | None = None):
    """The ids of every conversation the tab and filters match (a statement, for counting)."""
    return select(Conversation.id).where(and_(*_conditions(f, user_id, now or datetime.now(UTC))))
