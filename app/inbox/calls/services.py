"""Calls: logging a call, call lists, and the power dialer's claims.

- `log_call` is the one way a call is recorded (the lead page's form and the dialer): a
  call_logs row and an activity; WRONG_NUMBER clears the contact's SMS eligibility.
- `create_call_list` snapshots lead ids (the leads list's or the board's filter, through
  `app.crm.records.lead_list`), with the filter in `filter_criteria`.
- `claim_next` gives a rep the next lead of a list: one INSERT ... SELECT ... ON CONFLICT
  DO NOTHING into call_list_claims (unique per list and lead), so two reps never get the
  same lead; a rep's open claim is their position (kept in the database, not the session).

Services flush, the caller commits.
"""
from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, text

from app.activity.services import record
from app.crm.models import Lead
from app.extensions import db
from app.inbox.calls.models import CallListClaim
from app.inbox.conversations import upsert_conversation
from app.inbox.models import (
    CallList,
    CallLog,
    CallOutcome,
    ConversationChannel,
    ConversationKind,
    MessageDirection,
    VoicemailDrop,
)
from app.sequences import stops as sequence_stops

MAX_DURATION_SECONDS = 24 * 3600 - 1
RECENT_CALL = timedelta(hours=1)
MAX_LIST_SIZE = 5000
OUTCOME_LABELS = {
    CallOutcome.CONNECTED: "Connected",
    CallOutcome.NO_ANSWER: "No answer",
    CallOutcome.VOICEMAIL: "Voicemail",
    CallOutcome.BUSY: "Busy",
    CallOutcome.WRONG_NUMBER: "Wrong number",
}
# The dialer's keys (static/js/dialer.js presses the button carrying the key).
HOTKEYS = [(CallOutcome.CONNECTED, "c"), (CallOutcome.NO_ANSWER, "n"), (CallOutcome.VOICEMAIL, "v"),
           (CallOutcome.BUSY, "b"), (CallOutcome.WRONG_NUMBER, "w")]
_CLOCK = re.compile(r"(?:(\d{1,2}):)?(\d{1,3}):(\d{2})")


class DurationRefused(ValueError):
    """What was typed is not a call duration; the message says what to type."""


def parse_duration(raw: str | None) -> int | None:
    """Seconds from "mm:ss", "h:mm:ss" or a number of seconds; None when blank."""
    value = (raw or "").strip()
    if not value:
        return None
    if value.isascii() and value.isdigit() and len(value) <= 5:
        seconds = int(value)
    else:
        match = _CLOCK.fullmatch(value) if value.isascii() else None
        if match is None:
            raise DurationRefused("Enter the duration as mm:ss (e.g. 4:05) or seconds (e.g. 245).")
        hours, minutes, secs = int(match[1] or 0), int(match[2]), int(match[3])
        if secs >= 60 or (match[1] is not None and minutes >= 60):
            raise DurationRefused("Seconds (and minutes after hours) go up to 59, e.g. 4:05.")
        seconds = hours * 3600 + minutes * 60 + secs
    if seconds > MAX_DURATION_SECONDS:
        raise DurationRefused("A call lasts less than 24 hours.")
    return seconds


def parse_uuid(raw: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(raw or ""))
    except ValueError:
        return None


def format_duration(seconds: int | None) -> str:
    if seconds is None:
        return "—"
    minutes, secs = divmod(seconds, 60)
    if minutes >= 60:
        return f"{minutes // 60}:{minutes % 60:02d}:{secs:02d}"
    return f"{minutes}:{secs:02d}"


MISSED = {CallOutcome.NO_ANSWER: ConversationKind.MISSED_CALL, CallOutcome.VOICEMAIL: ConversationKind.VOICEMAIL}


def _touch_conversation(lead: Lead, call: CallLog, actor, *, summary: str | None) -> None:
    """The call is an item of the lead's CALL conversation: an inbound call nobody answered
    (no answer, voicemail) needs a reply in the inbox; any other call answers it."""
    kind = MISSED.get(call.outcome) if call.direction is MessageDirection.INBOUND else None
    if kind is ConversationKind.MISSED_CALL:
        preview = "Missed call"
    elif kind is ConversationKind.VOICEMAIL:
        preview = "Voicemail left"
    else:
        word = "Call" if call.direction is MessageDirection.OUTBOUND else "Inbound call"
        preview = summary or f"{word}: {OUTCOME_LABELS[call.outcome].lower()}"
    if call.notes:
        preview += f" — {call.notes}"
    rep = lead.company.assigned_rep_id if lead.company is not None else None
    upsert_conversation(lead_id=lead.id, contact_id=lead.contact_id, user_id=rep or (actor.id if actor else None),
                        at=call.created_at, preview=preview, inbound=kind is not None,
                        channel=ConversationChannel.CALL, kind=kind or ConversationKind.CALL)


def log_call(lead: Lead, *, actor, direction: MessageDirection, outcome: CallOutcome,
             duration_seconds: int | None = None, notes: str | None = None,
             voicemail_drop: VoicemailDrop | None = None) -> CallLog:
    """Record one call with `lead`'s contact. A dropped voicemail is a VOICEMAIL call with
    voicemail_dropped set and its own activity (`call.voicemail_dropped`)."""
    notes = (notes or "").strip() or None
    if voicemail_drop is not None:
        outcome = CallOutcome.VOICEMAIL
    call = CallLog(lead_id=lead.id, contact_id=lead.contact_id, direction=direction, outcome=outcome,
                   duration_seconds=duration_seconds, notes=notes, voicemail_dropped=voicemail_drop is not None,
                   user_id=actor.id if actor is not None else None, created_at=datetime.now(UTC))
    db.session.add(call)
    db.session.flush()
    detail = {"call_log_id": call.id, "direction": direction, "outcome": outcome,
              "duration_seconds": duration_seconds}
    if voicemail_drop is not None:
        detail["voicemail_drop_id"] = voicemail_drop.id
        record("call.voicemail_dropped", f"Voicemail dropped: {voicemail_drop.name}", actor=actor, lead=lead,
               company=lead.company_id, contact=lead.contact_id, detail=detail)
    else:
        word = "Call" if direction is MessageDirection.OUTBOUND else "Inbound call"
        summary = f"{word}: {OUTCOME_LABELS[outcome].lower()}"
        if duration_seconds:
            summary += f" ({format_duration(duration_seconds)})"
        if notes:
            summary += f" — {notes}"
        record("call.logged", summary, actor=actor, lead=lead, company=lead.company_id, contact=lead.contact_id,
               detail=detail)
    _touch_conversation(lead, call, actor, summary=None if voicemail_drop is None
                        else f"Voicemail dropped: {voicemail_drop.name}")
    if outcome is CallOutcome.WRONG_NUMBER:
        contact = lead.contact
        if contact.is_sms_eligible:
            contact.is_sms_eligible = False
            record("contact.sms_ineligible", f"Not textable: wrong number {contact.phone_e164 or contact.phone or ''}"
                   .strip(), actor=actor, lead=lead, company=lead.company_id, contact=contact,
                   detail={"reason": "wrong_number", "call_log_id": call.id, "phone": contact.phone_e164})
    sequence_stops.call_logged(call)
    db.session.flush()
    return call


# ----------------------------------------------------------------------------- call lists

def create_call_list(name: str, lead_ids: list[uuid.UUID], filter_criteria: dict, *, actor) -> CallList:
    call_list = CallList(name=name[:200], lead_ids=list(lead_ids)[:MAX_LIST_SIZE], filter_criteria=filter_criteria,
                         created_by_id=actor.id if actor is not None else None)
    db.session.add(call_list)
    db.session.flush()
    return call_list


def open_claim(call_list: CallList, user_id: uuid.UUID) -> CallListClaim | None:
    return db.session.scalar(select(CallListClaim).where(
        CallListClaim.call_list_id == call_list.id, CallListClaim.user_id == user_id,
        CallListClaim.completed_at.is_(None)))


# The first lead of the list, in the list's order, that nobody has claimed, is not do-not-
# contact, has a phone and was not called in the last hour. ON CONFLICT DO NOTHING: a rep
# who picked the same lead at the same moment waits for the other's commit, inserts
# nothing, and tries the next one; a second open claim of one rep is refused the same way.
_CLAIM = text("""
    INSERT INTO call_list_claims (id, call_list_id, lead_id, user_id, claimed_at)
    SELECT gen_random_uuid(), cl.id, c.lead_id, :user_id, :now
      FROM call_lists cl
     CROSS JOIN LATERAL unnest(cl.lead_ids) WITH ORDINALITY AS c(lead_id, n)
      JOIN leads l ON l.id = c.lead_id
      JOIN contacts ct ON ct.id = l.contact_id
     WHERE cl.id = :list_id
       AND NOT l.is_dnc
       AND ct.phone_e164 IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM call_list_claims k
                        WHERE k.call_list_id = cl.id AND k.lead_id = c.lead_id)
       AND NOT EXISTS (SELECT 1 FROM call_logs g
                        WHERE g.lead_id = c.lead_id AND g.created_at > :since)
     ORDER BY c.n
     LIMIT 1
    ON CONFLICT DO NOTHING
    RETURNING id
""")


def claim_next(call_list: CallList, user, now: datetime | None = None, attempts: int = 50) -> CallListClaim | None:
    """The rep's current lead of the list: their open claim, or the next lead claimed for them
    (None: nothing left to call now)."""
    claim = open_claim(call_list, user.id)
    if claim is not None:
        return claim
    now = now or datetime.now(UTC)
    for _ in range(attempts):
        claim_id = db.session.execute(_CLAIM, {"user_id": user.id, "now": now, "list_id": call_list.id,
                                               "since": now - RECENT_CALL}).scalar()
        if claim_id is not None:
            return db.session.get(CallListClaim, claim_id)
        claim = open_claim(call_list, user.id)  # the same rep's other tab claimed one
        if claim is not None:
            return claim
        if not any_claimable(call_list, now):
            return None
    return None


def any_claimable(call_list: CallList, now: datetime | None = None) -> bool:
    """Is a lead of the list left to call now?"""
    now = now or datetime.now(UTC)
    return db.session.execute(text("""
        SELECT EXISTS (
          SELECT 1 FROM call_lists cl CROSS JOIN LATERAL unnest(cl.lead_ids) AS c(lead_id)
            JOIN leads l ON l.id = c.lead_id JOIN contacts ct ON ct.id = l.contact_id
           WHERE cl.id = :list_id AND NOT l.is_dnc AND ct.phone_e164 IS NOT NULL
             AND NOT EXISTS (SELECT 1 FROM call_list_claims k WHERE k.call_list_id = cl.id AND k.lead_id = c.lead_id)
             AND NOT EXISTS (SELECT 1 FROM call_logs g WHERE g.lead_id = c.lead_id AND g.created_at > :since))
    """), {"list_id": call_list.id, "since": now - RECENT_CALL}).scalar()


class ClaimMoved(Exception):
    """The outcome was for a lead the rep no longer holds (another tab moved on)."""


def complete_claim(call_list: CallList, user, lead_id: uuid.UUID, *, call: CallLog | None = None,
                   now: datetime | None = None) -> CallListClaim:
    """Close the rep's open claim of `lead_id` (after its call, or skipped when `call` is None)."""
    claim = db.session.scalar(select(CallListClaim).where(
        CallListClaim.call_list_id == call_list.id, CallListClaim.user_id == user.id,
        CallListClaim.lead_id == lead_id, CallListClaim.completed_at.is_(None)).with_for_update())
    if claim is None:
        raise ClaimMoved("This lead is no longer yours in this list: the dialer moved on.")
    claim.completed_at = now or datetime.now(UTC)
    claim.call_log_id = call.id if call is not None else None
    # leads done in the list (an increment in SQL: two reps finishing at once both count)
    call_list.position = CallList.position + 1
    db.session.flush()
    return claim


class NoSuchDrop(ValueError):
    """"Drop voicemail" without a recording that exists."""


def record_dial_outcome(call_list: CallList, user, lead_id: uuid.UUID | None, outcome: str, *,
                        duration_seconds: int | None = None, notes: str | None = None,
                        voicemail_drop_id: uuid.UUID | None = None) -> CallLog | None:
    """The dialer's outcome for the rep's current lead: a call (one of the CallOutcome values,
    "DROP" for a dropped voicemail) or "SKIP" (no call); the claim is closed and the next
    lead claimed for the rep. ClaimMoved when the rep does not hold `lead_id` in this list
    (nothing is written)."""
    claim = open_claim(call_list, user.id)
    lead = db.session.get(Lead, lead_id) if lead_id else None
    if lead is None or claim is None or claim.lead_id != lead_id:
        raise ClaimMoved("That lead is no longer yours in this list: here is your current one.")
    call = None
    if outcome != "SKIP":
        drop = None
        if outcome == "DROP":
            drop = db.session.get(VoicemailDrop, voicemail_drop_id) if voicemail_drop_id else None
            if drop is None:
                raise NoSuchDrop("Pick the voicemail to drop.")
        call = log_call(lead, actor=user, direction=MessageDirection.OUTBOUND,
                        outcome=CallOutcome.VOICEMAIL if drop else CallOutcome(outcome),
                        duration_seconds=duration_seconds, notes=notes, voicemail_drop=drop)
    complete_claim(call_list, user, lead_id, call=call)
    claim_next(call_list, user)
    return call
