"""One lead's (or one contact's) conversation across channels: texts, e-mails, calls and
bookings in one time order, paged by keyset.

One statement per page, however many messages: a UNION ALL of four branches (texts, e-mail,
calls, bookings). Each branch reads, for each lead in scope (one lead, or each lead of a
contact) and for e-mail each of its threads, at most a page of rows walking an index
backwards from the cursor ((lead_id, created_at, id) for texts, (thread_id, created_at, id)
for e-mail, (lead_id, created_at) for calls, (lead_id, start_at) for bookings); the branches
are merged and cut to the page. The work is bounded by the page size times the leads (and
threads), not by how many messages there are. The cursor is the last item's (time, id): ids
break ties across tables as well as within one."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text

from app.extensions import db

PAGE_SIZE = 30

# {leads} is the scope: one lead, or the contact's leads; {before_x} the cursor's condition
# (empty on the first page). Fixed fragments below, never user input.
_BRANCHES = """
(SELECT 'sms' AS kind, s.id, s.created_at AS at, s.lead_id, s.direction::text AS direction,
        s.status::text AS status, s.error, NULL::text AS subject, s.body,
        CASE WHEN s.direction = 'INBOUND' THEN s.from_number ELSE s.to_number END AS party,
        NULL::text AS outcome, NULL::int AS duration, false AS voicemail_dropped,
        NULL::text AS url, NULL::timestamptz AS end_at
   FROM {leads} l
  CROSS JOIN LATERAL (
        SELECT s.* FROM sms_messages s
         WHERE s.lead_id = l.id{before_s}
         ORDER BY s.created_at DESC, s.id DESC LIMIT :n) s
  ORDER BY s.created_at DESC, s.id DESC LIMIT :n)
UNION ALL
(SELECT 'email', m.id, m.created_at, t.lead_id, m.direction::text, m.status::text, m.error, m.subject,
        m.body_text, CASE WHEN m.direction = 'INBOUND' THEN m.from_address ELSE m.to_address END,
        NULL, NULL, false, NULL, NULL
   FROM {leads} l
   JOIN email_threads t ON t.lead_id = l.id
  CROSS JOIN LATERAL (
        SELECT m.* FROM email_messages m
         WHERE m.thread_id = t.id{before_m}
         ORDER BY m.created_at DESC, m.id DESC LIMIT :n) m
  ORDER BY m.created_at DESC, m.id DESC LIMIT :n)
UNION ALL
(SELECT 'call', c.id, c.created_at, c.lead_id, c.direction::text, NULL, NULL, NULL, c.notes, NULL,
        c.outcome::text, c.duration_seconds, c.voicemail_dropped, NULL, NULL
   FROM {leads} l
  CROSS JOIN LATERAL (
        SELECT c.* FROM call_logs c
         WHERE c.lead_id = l.id{before_c}
         ORDER BY c.created_at DESC, c.id DESC LIMIT :n) c
  ORDER BY c.created_at DESC, c.id DESC LIMIT :n)
UNION ALL
(SELECT 'booking', b.id, b.start_at, b.lead_id, 'INBOUND', b.status::text, NULL, b.event_type_title,
        b.cancel_reason, coalesce(b.attendee_name, b.attendee_email), NULL, NULL, false, b.meeting_url, b.end_at
   FROM {leads} l
  CROSS JOIN LATERAL (
        SELECT b.* FROM bookings b
         WHERE b.lead_id = l.id{before_b}
         ORDER BY b.start_at DESC, b.id DESC LIMIT :n) b
  ORDER BY b.start_at DESC, b.id DESC LIMIT :n)
ORDER BY at DESC, id DESC
LIMIT :n
"""
_LEAD = "(SELECT CAST(:lead_id AS uuid) AS id)"
_CONTACT = "(SELECT id FROM leads WHERE contact_id = :contact_id)"


def _before(alias: str, column: str) -> str:
    # The first condition lets the index's range start at the cursor; the second is exact.
    return f" AND {alias}.{column} <= :before_at AND ({alias}.{column}, {alias}.id) < (:before_at, :before_id)"


def _sql(scope: str, paged: bool) -> str:
    cols = {"s": "created_at", "m": "created_at", "c": "created_at", "b": "start_at"}
    before = {f"before_{a}": (_before(a, col) if paged else "") for a, col in cols.items()}
    return _BRANCHES.format(leads=scope, **before)


_STATEMENTS = {(scope, paged): text(_sql(scope, paged)) for scope in (_LEAD, _CONTACT) for paged in (False, True)}


@dataclass(frozen=True)
class Cursor:
    at: datetime
    id: uuid.UUID

    def token(self) -> str:
        return f"{self.at.isoformat()}_{self.id}"

    @classmethod
    def parse(cls, token: str | None) -> Cursor | None:
        """None for no cursor; ValueError for one that is not ours."""
        if not token:
            return None
        at, _, ident = token.rpartition("_")
        moment = datetime.fromisoformat(at)
        if moment.tzinfo is None:
            raise ValueError("cursor without a time zone")
        return cls(moment, uuid.UUID(ident))


@dataclass(frozen=True)
class Item:
    kind: str  # sms | email | call | booking
    id: uuid.UUID
    at: datetime
    lead_id: uuid.UUID | None
    direction: str  # INBOUND | OUTBOUND
    status: str | None
    error: str | None
    subject: str | None  # e-mail subject; a booking's event type
    body: str | None  # text, e-mail body, call notes, a booking's cancel reason
    party: str | None  # the customer's number / address; a booking's attendee
    outcome: str | None
    duration: int | None
    voicemail_dropped: bool
    url: str | None
    end_at: datetime | None


@dataclass(frozen=True)
class Page:
    items: list[Item]  # oldest first (the thread reads down to the newest)
    older: Cursor | None  # where the page before this one starts, None at the beginning


def _page(scope: str, params: dict, before: Cursor | None, size: int) -> Page:
    params = {**params, "n": size + 1}
    if before is not None:
        params.update(before_at=before.at, before_id=before.id)
    rows = db.session.execute(_STATEMENTS[(scope, before is not None)], params).all()
    items = [Item(**row._mapping) for row in rows[:size]]
    older = Cursor(items[-1].at, items[-1].id) if len(rows) > size else None
    return Page(list(reversed(items)), older)


def lead_thread(lead_id: uuid.UUID, before: Cursor | None = None, size: int = PAGE_SIZE) -> Page:
    return _page(_LEAD, {"lead_id": lead_id}, before, size)


def contact_thread(contact_id: uuid.UUID, before: Cursor | None = None, size: int = PAGE_SIZE) -> Page:
    """Every lead of the contact, in one thread."""
    return _page(_CONTACT, {"contact_id": contact_id}, before, size)
