"""Cal.com bookings: a stored webhook event applied to the one `bookings` row of its meeting,
an unmatched booking attached to a contact, and the rep's task for the call.

- BOOKING_CREATED makes the row, matched to a contact by an attendee's normalised e-mail
  (the contact's lead: its open one, else its newest). No contact has that address: the
  booking is Unmatched (no contact, no lead) until a rep attaches it.
- BOOKING_RESCHEDULED carries the new `uid` and the old one in `rescheduleUid`: the row
  moves (new uid, times, link), never a second row. Every uid a booking has had is kept in
  `booking_uids`, so events in any order find the one row: a reschedule before its create
  makes the row, and the late create finds it by its old uid.
- BOOKING_CANCELLED cancels the row (a cancellation naming a uid the booking has moved away
  from is of the old time and changes nothing).
- Order: the envelope's `createdAt`. An event older than the one the row last took (a late
  delivery) changes nothing on the row; it is still written into the lead's history at its
  own time. The same event again (same trigger, uid and createdAt as the row's last) changes
  nothing at all.
- Each event is an activity on the lead; the lead's rep (the company's assigned rep, else the
  Cal.com organizer when a user, else an admin) gets one task per booking, "Prepare for the
  call with X at <time>", whose due time follows a reschedule; a cancellation completes it.

Events are applied one at a time (a transaction-level advisory lock): two events of one
meeting applied at once would both miss the row and make two.
"""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, urlsplit

from sqlalchemy import case, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from app.activity.services import record
from app.auth.models import User
from app.crm.models import Company, Contact, Lead, LeadStage, Task, TaskPriority, TaskType
from app.crm.records.normalize import normalize_email
from app.crm.tasks.services import complete_task, create_task, reopen_task
from app.extensions import db
from app.inbox.bookings.models import BookingUid
from app.inbox.conversations import upsert_conversation
from app.inbox.models import Booking, BookingStatus, ConversationChannel, ConversationKind
from app.sequences import stops as sequence_stops
from app.template_helpers import timestamp

log = logging.getLogger("crm.bookings")

CREATED, RESCHEDULED, CANCELLED = "BOOKING_CREATED", "BOOKING_RESCHEDULED", "BOOKING_CANCELLED"
APPLIED_TRIGGERS = (CREATED, RESCHEDULED, CANCELLED)
APPLY_LOCK = 7_310_022_616  # pg_advisory_xact_lock key: one Cal.com event applied at a time
CLOSED_STAGES = (LeadStage.WON, LeadStage.LOST, LeadStage.BOGUS)


class EventNotApplicable(Exception):
    """The event lacks what a booking needs (a uid, its times): recorded as its error."""


@dataclass(frozen=True)
class BookingEvent:
    """What a Cal.com booking event says, read once from its envelope."""

    trigger: str
    uid: str
    previous_uid: str | None  # rescheduleUid: the uid the booking had before this move
    occurred_at: datetime
    start_at: datetime
    end_at: datetime
    attendee_emails: tuple[str, ...]  # normalised, in the payload's order
    attendee_email: str
    attendee_name: str | None
    event_type_slug: str
    event_type_title: str
    meeting_url: str | None
    reschedule_url: str | None
    cancel_url: str | None
    cancel_reason: str | None
    organizer_email: str | None
    envelope: dict


def _time(value) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _text(value, limit: int = 500) -> str | None:
    return value.strip()[:limit] or None if isinstance(value, str) else None


def _web_url(value) -> str | None:
    """An http(s) URL, else None: these become links on our pages (never `javascript:`)."""
    value = _text(value, 2000)
    if value is None:
        return None
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    return value if parts.scheme in ("http", "https") and parts.netloc else None


def read_event(envelope: dict, *, received_at: datetime) -> BookingEvent:
    payload = envelope.get("payload") if isinstance(envelope.get("payload"), dict) else {}
    uid = _text(payload.get("uid"), 200)
    if uid is None:
        raise EventNotApplicable("the booking has no uid")
    start_at, end_at = _time(payload.get("startTime")), _time(payload.get("endTime"))
    if start_at is None or end_at is None:
        raise EventNotApplicable("the booking has no start or end time")
    attendees = [a for a in payload.get("attendees") or [] if isinstance(a, dict)]
    emails = tuple(e for e in (normalize_email(_text(a.get("email"), 320)) for a in attendees) if e)
    first = attendees[0] if attendees else {}
    raw_email = _text(first.get("email"), 320)
    previous = _text(payload.get("rescheduleUid"), 200)
    organizer = payload.get("organizer") if isinstance(payload.get("organizer"), dict) else {}
    metadata = payload.get("metadata") if isinstance(payload.get("metadata"), dict) else {}
    video = payload.get("videoCallData") if isinstance(payload.get("videoCallData"), dict) else {}
    booker = _web_url(payload.get("bookerUrl"))
    booker = booker.rstrip("/") if booker else None
    return BookingEvent(
        trigger=envelope.get("triggerEvent"), uid=uid,
        previous_uid=previous if previous and previous != uid else None,
        occurred_at=_time(envelope.get("createdAt")) or received_at,
        start_at=start_at, end_at=end_at, attendee_emails=emails,
        attendee_email=normalize_email(raw_email) or (raw_email or "").lower() or "unknown",
        attendee_name=_text(first.get("name"), 200),
        event_type_slug=_text(payload.get("type"), 200) or "",
        event_type_title=_text(payload.get("eventTitle"), 200) or _text(payload.get("title"), 200) or "Meeting",
        meeting_url=(_web_url(metadata.get("videoCallUrl")) or _web_url(video.get("url"))
                     or _web_url(payload.get("location"))),
        reschedule_url=f"{booker}/reschedule/{quote(uid)}" if booker else None,
        cancel_url=f"{booker}/booking/{quote(uid)}?cancel=true" if booker else None,
        cancel_reason=_text(payload.get("cancellationReason"), 1000),
        organizer_email=normalize_email(_text(organizer.get("email"), 320)),
        envelope=envelope,
    )


# ------------------------------------------------------------------ finding the row

def _bookings_with_uids(uids: list[str]) -> list[Booking]:
    known = select(BookingUid.booking_id).where(BookingUid.uid.in_(uids))
    return list(db.session.scalars(
        select(Booking).where(or_(Booking.cal_booking_uid.in_(uids), Booking.id.in_(known)))
        .with_for_update()))


def _remember_uids(booking: Booking, uids) -> None:
    for uid in {u for u in uids if u}:
        stmt = pg_insert(BookingUid).values(uid=uid, booking_id=booking.id)
        db.session.execute(stmt.on_conflict_do_update(index_elements=[BookingUid.uid],
                                                      set_={"booking_id": booking.id}))


def _last_event(booking: Booking) -> tuple[datetime | None, str | None, str | None]:
    raw = booking.raw_payload or {}
    payload = raw.get("payload") if isinstance(raw.get("payload"), dict) else {}
    return _time(raw.get("createdAt")), raw.get("triggerEvent"), payload.get("uid")


def _merge(rows: list[Booking]) -> Booking:
    """Two rows turned out to be one meeting (its events came out of order, e.g. a second
    reschedule before the first): the one that took the newest event stays, the other's uids
    and task join it, and the other row goes."""
    far_past = datetime.min.replace(tzinfo=UTC)
    rows = sorted(rows, key=lambda b: _last_event(b)[0] or far_past, reverse=True)
    survivor = rows[0]
    for other in rows[1:]:
        db.session.execute(update(BookingUid).where(BookingUid.booking_id == other.id)
                           .values(booking_id=survivor.id))
        if survivor.contact_id is None and other.contact_id is not None:
            survivor.contact_id, survivor.lead_id = other.contact_id, other.lead_id
        kept = _task_of(survivor)
        if kept is None:
            db.session.execute(update(Task).where(Task.calendar_event_id == str(other.id))
                               .values(calendar_event_id=str(survivor.id)))
        else:
            db.session.execute(delete(Task).where(Task.calendar_event_id == str(other.id),
                                                  Task.is_completed.is_(False)))
        old_uid = other.cal_booking_uid
        db.session.delete(other)
        db.session.flush()
        _remember_uids(survivor, [old_uid])
        log.info("bookings merged kept=%s removed=%s", survivor.id, other.id)
    return survivor


# ------------------------------------------------------------------ contacts and reps

def lead_for_contact(contact_id: uuid.UUID) -> Lead | None:
    """The lead a contact's booking belongs to: their open lead, else their newest."""
    return db.session.scalar(
        select(Lead).where(Lead.contact_id == contact_id)
        .order_by(case((Lead.stage.in_(CLOSED_STAGES), 1), else_=0), Lead.last_activity_at.desc(),
                  Lead.created_at.desc())
        .limit(1))


def _match_contact(booking: Booking, emails) -> bool:
    """Attach the booking to the contact one of its attendees is (by normalised e-mail)."""
    emails = [e for e in emails if e]
    if not emails:
        return False
    order = case({e: i for i, e in enumerate(emails)}, value=Contact.email_normalized)
    contact = db.session.scalar(select(Contact).where(Contact.email_normalized.in_(emails))
                                .order_by(order).limit(1))
    if contact is None:
        return False
    booking.contact_id = contact.id
    lead = lead_for_contact(contact.id)
    booking.lead_id = lead.id if lead else None
    if contact.email_normalized != booking.attendee_email:
        booking.attendee_email = contact.email_normalized
    return True


def _company_id(booking: Booking):
    lead = db.session.get(Lead, booking.lead_id) if booking.lead_id else None
    if lead is not None and lead.company_id:
        return lead.company_id
    contact = db.session.get(Contact, booking.contact_id) if booking.contact_id else None
    return contact.company_id if contact else None


def _rep_for(booking: Booking, organizer_email: str | None):
    """Who prepares for the call: the company's assigned rep, else the Cal.com organizer when
    they are one of our users, else the admin who answers for nobody's work."""
    from app.auth.services import admin_to_ask

    company_id = _company_id(booking)
    company = db.session.get(Company, company_id) if company_id else None
    if company is not None and company.assigned_rep is not None and company.assigned_rep.is_active:
        return company.assigned_rep
    if organizer_email:
        user = db.session.scalar(select(User).where(func.lower(User.email) == organizer_email,
                                                    User.is_active.is_(True)))
        if user is not None:
            return user
    return admin_to_ask()


# ------------------------------------------------------------------ the task

def _task_of(booking: Booking) -> Task | None:
    return db.session.scalar(select(Task).where(Task.calendar_event_id == str(booking.id))
                             .order_by(Task.created_at.desc()).limit(1))


def _who(booking: Booking) -> str:
    if booking.contact_id is not None:
        contact = db.session.get(Contact, booking.contact_id)
        if contact is not None:
            return contact.display_name
    return booking.attendee_name or booking.attendee_email


def task_title(booking: Booking) -> str:
    return f"Prepare for the call with {_who(booking)} at {timestamp(booking.start_at.astimezone(UTC))}"


def _sync_task(booking: Booking, *, organizer_email: str | None = None, reopen: bool = False) -> None:
    """The booking's one task, as the booking now is: made for an upcoming matched booking,
    moved with a reschedule (reopened when the booking had been cancelled), completed by a
    cancellation. Unmatched bookings get none until attached."""
    if booking.contact_id is None:
        return
    task = _task_of(booking)
    if booking.status is BookingStatus.CANCELLED:
        if task is not None and not task.is_completed:
            complete_task(task, actor=None)
        return
    title = task_title(booking)
    minutes = max(0, int((booking.end_at - booking.start_at).total_seconds() // 60))
    description = "\n".join(x for x in (booking.event_type_title, booking.meeting_url) if x)
    if task is None:
        rep = _rep_for(booking, organizer_email)
        if rep is None:
            log.warning("booking=%s has no rep to prepare for it (no assigned rep, no admin)", booking.id)
            return
        lead = db.session.get(Lead, booking.lead_id) if booking.lead_id else None
        company_id = _company_id(booking)
        task = create_task(
            title=title, actor=None, lead=lead, company=db.session.get(Company, company_id) if company_id else None,
            assigned_to=rep, task_type=TaskType.CALL, priority=TaskPriority.HIGH, due_at=booking.start_at,
            description=description)
        task.calendar_event_id = str(booking.id)
        task.duration_min = minutes
        db.session.flush()
        return
    if task.is_completed and reopen:
        reopen_task(task, actor=None)
    if (task.title, task.due_at, task.description) != (title, booking.start_at, description):
        task.title, task.due_at, task.duration_min, task.description = title, booking.start_at, minutes, description
        db.session.flush()


# ------------------------------------------------------------------ applying an event

def _summary(event: BookingEvent, who: str) -> tuple[str, str]:
    when = timestamp(event.start_at)
    if event.trigger == CANCELLED:
        reason = f" ({event.cancel_reason})" if event.cancel_reason else ""
        return "booking.cancelled", f"{who} cancelled {event.event_type_title} on {when}{reason}"
    if event.trigger == RESCHEDULED or event.previous_uid:
        return "booking.rescheduled", f"{who} moved {event.event_type_title} to {when}"
    return "booking.created", f"{who} booked {event.event_type_title} on {when}"


def _record(booking: Booking, event: BookingEvent) -> None:
    if booking.contact_id is None:
        return  # unmatched: the attach records the booking on its lead
    kind, summary = _summary(event, _who(booking))
    record(kind, summary, lead=booking.lead_id, contact=booking.contact_id, company=_company_id(booking),
           occurred_at=event.occurred_at,
           detail={"booking_id": booking.id, "cal_uid": event.uid, "previous_uid": event.previous_uid,
                   "start_at": event.start_at, "end_at": event.end_at, "meeting_url": event.meeting_url})
    sequence_stops.booking_made(booking)


KINDS = {"booking.created": ConversationKind.BOOKING_CREATED, "booking.rescheduled": ConversationKind.BOOKING_RESCHEDULED,
         "booking.cancelled": ConversationKind.BOOKING_CANCELLED}


def _touch_conversation(booking: Booking, kind: str, summary: str, at: datetime) -> None:
    """A booking (created, moved, cancelled) is news for the rep: an item of the lead's CALL
    conversation, back in the inbox's Needs reply (app.inbox.conversations)."""
    if booking.lead_id is None:
        return  # unmatched: on the Unmatched bookings page until attached
    lead = db.session.get(Lead, booking.lead_id)
    rep = lead.company.assigned_rep_id if lead.company is not None else None
    upsert_conversation(lead_id=lead.id, contact_id=booking.contact_id, user_id=rep, at=at, preview=summary,
                        inbound=True, channel=ConversationChannel.CALL, kind=KINDS[kind])


def _take(booking: Booking, event: BookingEvent) -> None:
    """The row becomes what the (newest) event says."""
    if event.trigger == CANCELLED:
        booking.status = BookingStatus.CANCELLED
        booking.cancelled_at = event.occurred_at
        booking.cancel_reason = event.cancel_reason
    else:
        booking.status = (BookingStatus.RESCHEDULED if event.trigger == RESCHEDULED or event.previous_uid
                          else BookingStatus.SCHEDULED)
        booking.cancelled_at = None
        booking.cancel_reason = None
    booking.cal_booking_uid = event.uid
    booking.start_at, booking.end_at = event.start_at, event.end_at
    if booking.contact_id is None:
        booking.attendee_email = event.attendee_email
    booking.attendee_name = event.attendee_name or booking.attendee_name
    booking.event_type_slug = event.event_type_slug or booking.event_type_slug
    booking.event_type_title = event.event_type_title
    booking.meeting_url = event.meeting_url or booking.meeting_url
    booking.reschedule_url = event.reschedule_url or booking.reschedule_url
    booking.cancel_url = event.cancel_url or booking.cancel_url
    booking.raw_payload = event.envelope


def apply_calcom_event(envelope: dict, *, received_at: datetime) -> str:
    """Apply one Cal.com event to its booking; returns what happened (for the log). Flushes;
    the caller commits. Raises EventNotApplicable for an event no booking can come of."""
    if envelope.get("triggerEvent") not in APPLIED_TRIGGERS:
        return "ignored"
    event = read_event(envelope, received_at=received_at)
    db.session.execute(select(func.pg_advisory_xact_lock(APPLY_LOCK)))
    uids = [event.uid] + ([event.previous_uid] if event.previous_uid else [])
    rows = _bookings_with_uids(uids)
    if not rows:
        booking = Booking(id=uuid.uuid4(), cal_booking_uid=event.uid, attendee_email=event.attendee_email,
                          event_type_slug=event.event_type_slug, event_type_title=event.event_type_title,
                          start_at=event.start_at, end_at=event.end_at)
        _take(booking, event)
        db.session.add(booking)
        db.session.flush()
        _remember_uids(booking, uids)
        _match_contact(booking, event.attendee_emails)
        _record(booking, event)
        _touch_conversation(booking, *_summary(event, _who(booking)), event.occurred_at)
        _sync_task(booking, organizer_email=event.organizer_email)
        return f"booking {booking.status.value.lower()}" + ("" if booking.contact_id else " (unmatched)")

    booking = _merge(rows) if len(rows) > 1 else rows[0]
    last_at, last_trigger, last_uid = _last_event(booking)
    if (last_at, last_trigger, last_uid) == (event.occurred_at, event.trigger, event.uid):
        _remember_uids(booking, uids)
        return "already applied"
    _remember_uids(booking, uids)
    was_cancelled = booking.status is BookingStatus.CANCELLED
    late = last_at is not None and event.occurred_at < last_at
    moved_away = event.trigger == CANCELLED and event.uid != booking.cal_booking_uid
    if not late and not moved_away:
        _take(booking, event)
    if booking.contact_id is None:
        _match_contact(booking, event.attendee_emails)
    elif booking.lead_id is None:  # the contact had no lead then; it may have one now
        lead = lead_for_contact(booking.contact_id)
        booking.lead_id = lead.id if lead else None
    db.session.flush()
    _record(booking, event)
    _sync_task(booking, organizer_email=event.organizer_email, reopen=was_cancelled)
    if late:
        return "late event: history only"
    if not moved_away:
        _touch_conversation(booking, *_summary(event, _who(booking)), event.occurred_at)
    if moved_away:
        return "cancellation of a time the booking moved from: history only"
    return f"booking {booking.status.value.lower()}"


# ------------------------------------------------------------------ attaching

class AttachError(Exception):
    pass


def attach_booking(booking: Booking, contact: Contact, *, actor) -> None:
    """A rep says whose an unmatched booking is: it joins the contact's lead, goes on its
    history and gets its task."""
    if booking.contact_id is not None:
        raise AttachError("This booking is already attached.")
    booking.contact_id = contact.id
    lead = lead_for_contact(contact.id)
    booking.lead_id = lead.id if lead else None
    db.session.flush()
    record("booking.attached",
           f"{actor.full_name} attached {booking.event_type_title} on {timestamp(booking.start_at.astimezone(UTC))} "
           f"({booking.attendee_name or booking.attendee_email}) to {contact.display_name}",
           actor=actor, lead=booking.lead_id, contact=contact.id, company=_company_id(booking),
           detail={"booking_id": booking.id, "attendee_email": booking.attendee_email,
                   "status": booking.status})
    _touch_conversation(booking, "booking.created", f"{_who(booking)} booked {booking.event_type_title} on "
                        f"{timestamp(booking.start_at.astimezone(UTC))}", datetime.now(UTC))
    payload = (booking.raw_payload or {}).get("payload")
    organizer = payload.get("organizer") if isinstance(payload, dict) else None
    email = _text(organizer.get("email"), 320) if isinstance(organizer, dict) else None
    _sync_task(booking, organizer_email=normalize_email(email))
