"""What stops a run, and the hooks the inbox's ingest points call.

Two ways, so a stop takes effect before the next step fires:
- the hooks below (an inbound e-mail or SMS from the contact or anyone at the lead's
  company, a connected call, a Cal.com booking) stop the live runs in the ingest's own
  transaction (they lock the run rows, so they wait for a tick holding one);
- the engine re-checks `engine_stop` in the transaction that claims the step (do-not-contact,
  WON / LOST / BOGUS, a bounced e-mail address, and an inbound SMS, connected call or booking
  since the run started — whichever path recorded it).

Auto-replies (out of office, vacation responders) never stop a run: `Auto-Submitted` other
than "no", `X-Autoreply` / `X-Autorespond`, `Precedence: auto_reply`, or an out-of-office subject.
"""
from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import and_, exists, or_, select, update

from app.crm.models import Contact, Lead, LeadStage
from app.extensions import db
from app.sequences.models import SequenceRun, SequenceStatus

TERMINAL = {LeadStage.WON: "Won", LeadStage.LOST: "Lost", LeadStage.BOGUS: "Bogus"}
BOUNCED = "bounced"
_OOO = re.compile(
    r"\b(out of (the )?office|automatic reply|auto[- ]?reply|autoreply|auto[- ]?response|away from (the )?office|"
    r"on vacation|on holiday|on leave|ooo|abwesenheit|absence|respuesta autom[aá]tica|r[ée]ponse automatique)\b",
    re.IGNORECASE)


def is_auto_reply(subject: str | None, headers: dict | None = None) -> bool:
    headers = {str(k).lower(): str(v).strip().lower() for k, v in (headers or {}).items()}
    if headers.get("auto-submitted", "no") != "no":
        return True
    if "x-autoreply" in headers or "x-autorespond" in headers or "x-autoresponder" in headers:
        return True
    if headers.get("precedence") == "auto_reply":
        return True
    return bool(_OOO.search(subject or ""))


def engine_stop(run: SequenceRun, lead: Lead) -> tuple[SequenceStatus, str, str] | None:
    """(status, reason, kind) when the run must stop before its next step, else None. One
    statement beyond the rows already loaded."""
    from app.activity.models import Activity
    from app.inbox.models import (
        Booking,
        BookingStatus,
        CallLog,
        CallOutcome,
        MessageDirection,
        SmsMessage,
    )

    since = run.started_at
    company_contacts = select(Contact.id).where(Contact.company_id == lead.company_id).scalar_subquery() \
        if lead.company_id else None
    sms_from = SmsMessage.lead_id == lead.id
    if company_contacts is not None:
        sms_from = or_(sms_from, SmsMessage.contact_id.in_(company_contacts))
    pending, replied, called, booked = db.session.execute(select(
        select(Activity.detail).where(
            Activity.lead_id == lead.id, Activity.activity_type == "sequence.stop_pending",
            Activity.detail["sequence_run_id"].astext == str(run.id)).limit(1).scalar_subquery(),
        exists().where(SmsMessage.direction == MessageDirection.INBOUND, SmsMessage.created_at >= since, sms_from),
        exists().where(CallLog.lead_id == lead.id, CallLog.outcome == CallOutcome.CONNECTED,
                       CallLog.created_at >= since),
        exists().where(or_(Booking.lead_id == lead.id, and_(Booking.contact_id == lead.contact_id,
                                                            Booking.contact_id.isnot(None))),
                       Booking.status != BookingStatus.CANCELLED, Booking.created_at >= since),
    )).one()
    if pending:
        return SequenceStatus.CANCELED, pending["reason"], pending.get("stop") or "reply"
    if lead.is_dnc:
        return SequenceStatus.CANCELED, "Do not contact: the lead asked not to be contacted", "dnc"
    if lead.stage in TERMINAL:
        return SequenceStatus.CANCELED, f"The lead moved to {TERMINAL[lead.stage]}", "stage"
    contact = lead.contact
    if contact is not None and (contact.email_status or "").lower() == BOUNCED:
        return SequenceStatus.PAUSED, f"The contact's e-mail {contact.email} bounced: fix it, then resume", "bounce"
    if replied:
        return SequenceStatus.CANCELED, "The customer replied by SMS", "reply"
    if called:
        return SequenceStatus.CANCELED, "A call with the customer connected", "call"
    if booked:
        return SequenceStatus.CANCELED, "The customer booked a meeting", "booking"
    return None


def _live_runs(lead_ids=(), company_id=None, *, lock: str | None = None) -> list[SequenceRun]:
    """The live runs of these leads or of any lead of the company; `lock`: "wait" (FOR UPDATE)
    or "skip" (FOR UPDATE SKIP LOCKED: the runs a tick holds right now are left out)."""
    conditions = []
    if lead_ids:
        conditions.append(SequenceRun.lead_id.in_([i for i in lead_ids if i]))
    if company_id is not None:
        conditions.append(SequenceRun.lead_id.in_(select(Lead.id).where(Lead.company_id == company_id)))
    if not conditions:
        return []
    query = select(SequenceRun).where(SequenceRun.status.in_((SequenceStatus.ACTIVE, SequenceStatus.PAUSED)),
                                      or_(*conditions)).order_by(SequenceRun.id)
    if lock is not None:
        query = query.with_for_update(skip_locked=lock == "skip")
    return list(db.session.scalars(query).all())


def _runs_to_stop(lead_ids=(), company_id=None) -> list[SequenceRun]:
    return _live_runs(lead_ids, company_id, lock="wait")


def _stop_live(lead_ids, company_id, reason: str, kind: str, *, plusvibe_stop: bool = True) -> int:
    """Stop the live runs now, without waiting for a tick that holds one: a run a tick is
    working on gets a `sequence.stop_pending` activity instead, which the engine's re-check
    reads before the run's next step (and before this step, if the tick has not reached it)."""
    from app.activity.services import record
    from app.sequences import plusvibe
    from app.sequences import runs as run_services

    live = _live_runs(lead_ids, company_id)
    if not live:
        return 0
    stopped = 0
    locked = {run.id for run in _live_runs(lead_ids, company_id, lock="skip")}
    for run in live:
        if run.id in locked:
            stopped += run_services.stop(run, SequenceStatus.CANCELED, reason, kind=kind)
        else:
            record("sequence.stop_pending", f"{reason}: the sequence stops before its next step", lead=run.lead_id,
                   detail={"sequence_run_id": str(run.id), "reason": reason, "stop": kind})
        if plusvibe_stop:
            plusvibe.mark(run.lead, stopped=True)
    db.session.flush()
    return stopped + len(live) - len(locked)


def _when(at: datetime | None) -> str:
    return f" on {at:%b %-d, %H:%M} UTC" if at else ""


def inbound_email(*, contact: Contact | None, lead: Lead | None, from_address: str, subject: str | None,
                  headers: dict | None = None, at: datetime | None = None) -> int:
    """An e-mail from the contact or anyone at the lead's company (not an auto-reply)."""
    if is_auto_reply(subject, headers):
        return 0
    return _stop_live([lead.id if lead else None], contact.company_id if contact else None,
                      f"The customer replied by e-mail ({from_address}){_when(at)}", "reply")


def inbound_sms(*, contact: Contact | None, lead: Lead | None, from_number: str, at: datetime | None = None) -> int:
    return _stop_live([lead.id if lead else None], contact.company_id if contact else None,
                      f"The customer replied by SMS ({from_number}){_when(at)}", "reply")


def call_logged(call) -> int:
    from app.inbox.models import CallOutcome

    if call.outcome is not CallOutcome.CONNECTED or call.lead_id is None:
        return 0
    return _stop_live([call.lead_id], None, "A call with the customer connected", "call", plusvibe_stop=False)


def booking_made(booking) -> int:
    from app.inbox.models import BookingStatus

    if booking.status is BookingStatus.CANCELLED or (booking.lead_id is None and booking.contact_id is None):
        return 0
    lead_ids = [booking.lead_id]
    if booking.contact_id is not None:
        lead_ids += list(db.session.scalars(select(Lead.id).where(Lead.contact_id == booking.contact_id)))
    return _stop_live(lead_ids, None, f"The customer booked {booking.event_type_title or 'a meeting'}", "booking")


def email_bounced(address: str) -> int:
    """The contact's address bounced: marked so, and their runs paused until someone fixes it."""
    from app.crm.records.normalize import normalize_email
    from app.sequences import runs as run_services

    normalized = normalize_email(address)
    if not normalized:
        return 0
    contacts = db.session.scalars(select(Contact).where(Contact.email_normalized == normalized)).all()
    paused = 0
    for contact in contacts:
        contact.email_status = BOUNCED
        for run in _runs_to_stop(list(db.session.scalars(select(Lead.id).where(Lead.contact_id == contact.id)))):
            paused += run_services.stop(run, SequenceStatus.PAUSED,
                                        f"The contact's e-mail {address} bounced: fix it, then resume", kind="bounce")
    db.session.flush()
    return paused


def send_failed(statuses, message_id, reason: str | None) -> bool:
    """The inbox gave up on a message (its send job's last attempt, or a permanent refusal):
    if a sequence step queued it, that step is FAILED with the provider's reason and its run
    paused with it (the rep reads it on the lead page and resumes once it is fixed). Called by
    app.inbox.sending in the send job's transaction."""
    from app.activity.models import Activity
    from app.inbox.models import EmailMessage, EmailStatus, EmailThread, SmsMessage
    from app.sequences import runs as run_services
    from app.sequences.models import SequenceStepLog, StepStatus

    if statuses is EmailStatus:
        channel = "email"
        lead_id = db.session.scalar(select(EmailThread.lead_id).join(EmailMessage, EmailMessage.thread_id == EmailThread.id)
                                    .where(EmailMessage.id == message_id))
    else:
        channel = "sms"
        lead_id = db.session.scalar(select(SmsMessage.lead_id).where(SmsMessage.id == message_id))
    if lead_id is None:
        return False
    sent = db.session.scalar(select(Activity.detail).where(
        Activity.lead_id == lead_id, Activity.activity_type == "sequence.step_sent",
        Activity.detail["message_id"].astext == str(message_id)).limit(1))
    if not sent:
        return False
    run = db.session.get(SequenceRun, sent["sequence_run_id"], with_for_update=True)
    if run is None:
        return False
    reason = (reason or "the provider refused it").strip()
    db.session.execute(update(SequenceStepLog).where(
        SequenceStepLog.sequence_run_id == run.id, SequenceStepLog.step_number == sent["step"])
        .values(status=StepStatus.FAILED, error_message=reason[:1000]))
    word = "e-mail" if channel == "email" else "SMS"
    run_services.stop(run, SequenceStatus.PAUSED, f"Step {sent['step'] + 1} ({word}) could not be sent: {reason}",
                      kind="failure")
    return True
