"""The engine: each step of each run exactly once.

PostgreSQL is the truth; RQ only wakes workers. `tick` (a periodic job, and a job asked for
when a run starts or resumes) claims due ACTIVE runs (`next_step_at <= now`) with
`FOR UPDATE SKIP LOCKED` in batches; for each run, in a savepoint of the batch's transaction:

1. the stop rules are re-checked (stops.engine_stop) — a reply committed a millisecond
   before the claim stops the run instead of its step;
2. a channel step outside the definition's send window (the contact's time zone) only moves
   `next_step_at` to when the window opens;
3. the step's `sequence_step_logs` row is inserted (as FIRED, the usual outcome; a skipped or
   failed step updates it) — unique per (run, step) in the database, so a second claim of
   the same step cannot insert and does nothing;
4. the step is done through the domain's own services: `send_email` / `send_sms` write the
   QUEUED message and its send job in this same transaction (their exactly-once send takes
   over from there; do-not-contact is checked again when it leaves), a call or task step
   inserts its task (unique per (run, step) too: `task_run_step_unique`);
5. `current_step` / `next_step_at` advance (a wait step computes the time), or COMPLETED.

The batch commits once. A worker killed anywhere before the commit leaves nothing done (the
locks go with its connection and the runs are due again); after it, the whole step is done.
"""
from __future__ import annotations

import logging
import time as monotonic_time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import DateTime, Integer, String, Uuid, bindparam, func, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import joinedload

from app.activity.services import record
from app.crm.models import Company, Lead, Task, TaskPriority, TaskType
from app.extensions import db
from app.sequences import definitions, runs, stops, windows
from app.sequences.models import (
    SequenceDefinition,
    SequenceRun,
    SequenceStatus,
    SequenceStepLog,
    StepStatus,
)

log = logging.getLogger("crm.sequences")

RETRY_AFTER_ERROR = timedelta(minutes=1)


class StepFailed(Exception):
    """The step cannot be done for this lead: FAILED, and the run paused with this reason."""


class StepSkipped(Exception):
    """The step does not apply to this lead (no phone, no gateway...): SKIPPED with this reason."""


@dataclass
class Outcome:
    claimed: int = 0
    fired: int = 0
    skipped: int = 0
    failed: int = 0
    stopped: int = 0
    deferred: int = 0
    completed: int = 0
    errors: int = 0

    def add(self, other: Outcome) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


# Written once as SQL: SQLAlchemy does not cache a compiled PostgreSQL INSERT .. ON CONFLICT.
_INSERT_STEP_LOG = text("""
INSERT INTO sequence_step_logs (id, sequence_run_id, step_number, action_type, status, scheduled_at, fired_at,
                                created_at)
VALUES (CAST(:id AS UUID), CAST(:run_id AS UUID), :step, :action, 'FIRED', :scheduled_at, :now, :now)
ON CONFLICT (sequence_run_id, step_number) DO NOTHING
RETURNING sequence_step_logs.id""").bindparams(
    bindparam("id", type_=Uuid()), bindparam("run_id", type_=Uuid()), bindparam("step", type_=Integer()),
    bindparam("action", type_=String()), bindparam("scheduled_at", type_=DateTime(timezone=True)),
    bindparam("now", type_=DateTime(timezone=True)),
).columns(id=Uuid())


def now_utc() -> datetime:
    return datetime.now(UTC)


def claim(now: datetime, batch: int) -> list[SequenceRun]:
    """Due ACTIVE runs, locked for this transaction; rows another tick holds are skipped."""
    ids = db.session.scalars(
        select(SequenceRun.id).where(SequenceRun.status == SequenceStatus.ACTIVE, SequenceRun.next_step_at <= now)
        .order_by(SequenceRun.next_step_at, SequenceRun.id).limit(batch)
        .with_for_update(skip_locked=True)).all()
    if not ids:
        return []
    return list(db.session.scalars(
        select(SequenceRun).where(SequenceRun.id.in_(ids))
        .options(joinedload(SequenceRun.lead).joinedload(Lead.contact),
                 joinedload(SequenceRun.lead).joinedload(Lead.company).joinedload(Company.assigned_rep),
                 joinedload(SequenceRun.sequence_def))
        .order_by(SequenceRun.next_step_at, SequenceRun.id)
        .execution_options(populate_existing=True)).unique().all())  # the locked rows as they are now


def tick(now: datetime | None = None, *, batch: int | None = None, budget_s: float = 45.0) -> Outcome:
    """Claim and advance due runs, batch after batch, until none is due or the budget is spent.
    Each batch commits. `now` is the engine's clock (tests move it; it stays fixed in a tick)."""
    batch = batch or int(current_app.config.get("SEQUENCE_BATCH", 50))
    started = monotonic_time.monotonic()
    total = Outcome()
    while monotonic_time.monotonic() - started < budget_s:
        moment = now or now_utc()
        outcome = run_batch(moment, batch)
        db.session.commit()
        total.add(outcome)
        if outcome.claimed == 0:
            break
    return total


def run_batch(now: datetime, batch: int) -> Outcome:
    outcome = Outcome()
    claimed = claim(now, batch)
    outcome.claimed = len(claimed)
    documents: dict = {}  # definition id -> its Document; and the batch's channel counts
    for run in claimed:
        try:
            with db.session.begin_nested():
                result = advance(run, now, documents)
        except Exception:  # one run's surprise must not take the batch with it
            log.exception("sequence run %s: step %s raised; retried in a minute", run.id, run.current_step)
            db.session.execute(update(SequenceRun).where(SequenceRun.id == run.id)
                               .values(next_step_at=now + RETRY_AFTER_ERROR))
            outcome.errors += 1
            continue
        setattr(outcome, result, getattr(outcome, result) + 1)
        if result != "completed" and run.status is SequenceStatus.COMPLETED:  # its last step was this one
            outcome.completed += 1
    return outcome


def _document(definition: SequenceDefinition, cache: dict) -> definitions.Document:
    if definition.id not in cache:
        cache[definition.id] = definitions.read(definition.steps)
    return cache[definition.id]


def _complete(run: SequenceRun, now: datetime) -> None:
    run.status, run.completed_at, run.next_step_at = SequenceStatus.COMPLETED, now, None
    record("sequence.completed", f"Sequence “{run.sequence_def.name}” completed", lead=run.lead_id,
           detail={"sequence_run_id": run.id})


def advance(run: SequenceRun, now: datetime, cache: dict) -> str:
    """Do the run's next step (or stop it, or wait for the window). Returns the Outcome field."""
    lead = run.lead
    stop = stops.engine_stop(run, lead)
    if stop is not None:
        status, reason, kind = stop
        runs.stop(run, status, reason, now=now, kind=kind)
        return "stopped"
    definition = run.sequence_def
    if not definition.is_active:
        runs.stop(run, SequenceStatus.PAUSED, f"The sequence “{definition.name}” is switched off: resume it once it "
                  "is on again", now=now, kind="inactive")
        return "stopped"
    document = _document(definition, cache)
    if run.current_step >= len(document.steps):  # the definition lost steps since: done
        _complete(run, now)
        return "completed"
    number = run.current_step
    step = document.steps[number]
    zone, _ = windows.contact_zone(lead.contact, lead.company, current_app.config["SEQUENCE_DEFAULT_TIMEZONE"])
    if step.needs_window:
        opens = windows.next_open(now, document.window, zone)
        if opens > now:
            run.next_step_at = opens
            return "deferred"
    if step.type in ("email", "sms"):
        free_at = channel_capacity(step.type, lead, now, cache)
        if free_at is not None:
            run.next_step_at = free_at
            return "deferred"
    log_id = db.session.execute(_INSERT_STEP_LOG, {
        "id": uuid.uuid4(), "run_id": run.id, "step": number, "action": step.type, "scheduled_at": run.next_step_at,
        "now": now}).scalar_one_or_none()
    result, error, next_at = "fired", None, now
    if log_id is None:
        result = "skipped"  # done by an earlier claim: never twice; only the pointer moves
    else:
        try:
            next_at = perform(step, run, lead, number, now, zone, cache) or now
            status = StepStatus.FIRED  # as logged: one statement for the usual step
        except StepSkipped as exc:
            status, error, result = StepStatus.SKIPPED, str(exc), "skipped"
        except StepFailed as exc:
            status, error, result = StepStatus.FAILED, str(exc), "failed"
        if status is not StepStatus.FIRED:
            db.session.execute(update(SequenceStepLog).where(SequenceStepLog.id == log_id).values(
                status=status, error_message=(error or None) and error[:1000]))
        if status is StepStatus.FAILED:
            run.current_step = number + 1
            runs.stop(run, SequenceStatus.PAUSED, f"Step {number + 1} ({step.type}) failed: {error}", now=now,
                      kind="failure")
            return "failed"
    run.current_step = number + 1
    if run.current_step >= len(document.steps):
        _complete(run, now)
    else:
        run.next_step_at = next_at
    return result


def channel_capacity(kind: str, lead: Lead, now: datetime, cache: dict) -> datetime | None:
    """None when the channel can take this step now, else when it can: a rep's phone sends a
    text every SEQUENCE_SMS_INTERVAL_S at most (serialised per gateway by an advisory lock, so
    two ticks cannot both take the same slot); the sending mailbox takes at most
    SEQUENCE_EMAIL_DAILY_CAP e-mails in 24 hours (counted once per batch, then kept; two
    ticks at once may overshoot by one batch). A step over the limit waits; runs keep their
    order (the claim is by next_step_at)."""
    config = current_app.config
    if kind == "sms":
        from app.inbox.models import MessageDirection, SmsMessage
        from app.inbox.sms.services import gateway_for_user

        rep = lead.company.assigned_rep if lead.company is not None else None
        gateway = gateway_for_user(rep.id) if rep is not None else None
        if gateway is None:
            return None  # the send refuses it with its reason
        db.session.execute(select(func.pg_advisory_xact_lock(func.hashtext(f"sms-rate:{gateway.id}"))))
        last = db.session.scalar(select(func.max(SmsMessage.created_at)).where(
            SmsMessage.gateway_id == gateway.id, SmsMessage.direction == MessageDirection.OUTBOUND))
        interval = timedelta(seconds=float(config.get("SEQUENCE_SMS_INTERVAL_S", 5)))
        moment = max(now, now_utc())
        return last + interval if last is not None and last + interval > moment else None
    cap = int(config.get("SEQUENCE_EMAIL_DAILY_CAP", 2000))
    if "email-sent-24h" not in cache:
        from app.inbox.models import EmailMessage, MessageDirection

        cache["email-sent-24h"] = db.session.scalar(select(func.count()).select_from(EmailMessage).where(
            EmailMessage.direction == MessageDirection.OUTBOUND, EmailMessage.created_at >= now - timedelta(days=1)))
    if cache["email-sent-24h"] >= cap:
        return now + timedelta(hours=1)
    cache["email-sent-24h"] += 1
    return None


def perform(step: definitions.Step, run: SequenceRun, lead: Lead, number: int, now: datetime, zone,
            cache: dict) -> datetime | None:
    """Do one step; returns when the next one is due (None: now)."""
    rep = lead.company.assigned_rep if lead.company is not None else None
    if step.type == "wait":
        return windows.after_wait(now, step.amount, step.unit, zone)
    if step.type in ("email", "sms"):
        message = _send(step, lead, rep, cache)
        record("sequence.step_sent", f"Sequence “{run.sequence_def.name}”: step {number + 1} "
               f"({'e-mail' if step.type == 'email' else 'SMS'}) queued", lead=lead.id,
               detail={"sequence_run_id": run.id, "step": number, "channel": step.type, "message_id": message.id})
        return None
    if step.type == "call":
        _task(run, lead, rep, number, now, title=f"Call {_who(lead)}", description=step.text,
              task_type=TaskType.CALL, priority=TaskPriority.HIGH)
        if rep is not None:
            add_to_dialer(lead, rep)
        return None
    _task(run, lead, rep, number, now, title=step.text, description=None, task_type=TaskType[step.task_type],
          priority=TaskPriority[step.priority])
    return None


def _who(lead: Lead) -> str:
    contact = lead.contact
    name = (contact.full_name or contact.first_name or "") if contact is not None else ""
    company = lead.company.name if lead.company is not None else ""
    return " at ".join(p for p in (name, company) if p) or "the lead"


def _send(step: definitions.Step, lead: Lead, rep, cache: dict):
    from app.inbox.canned.rendering import RenderRefused
    from app.inbox.canned.services import render_for_lead
    from app.inbox.email.services import EmailRefused, send_email
    from app.inbox.models import MessageTemplate
    from app.inbox.sms.services import SmsRefused, send_sms

    key = ("template", step.template_id)  # read once per batch
    if key not in cache:
        cache[key] = db.session.get(MessageTemplate, uuid.UUID(step.template_id))
    template = cache[key]
    if template is None or not template.is_active:
        raise StepFailed("its template was deleted or archived")
    try:
        rendered = render_for_lead(template, lead=lead, rep=rep)
    except RenderRefused as exc:
        raise StepFailed(str(exc)) from exc
    try:
        if step.type == "email":
            return send_email(lead, subject=rendered.subject or template.name, body=rendered.body, actor=rep)
        else:
            if rep is None:
                raise StepSkipped("the lead's company has no rep, whose phone would send the text")
            return send_sms(lead, body=rendered.body, actor=rep)
    except (EmailRefused, SmsRefused) as exc:
        raise StepSkipped(str(exc)) from exc


def _task(run: SequenceRun, lead: Lead, rep, number: int, now: datetime, *, title: str, description: str | None,
          task_type: TaskType, priority: TaskPriority) -> None:
    task_id = db.session.execute(
        pg_insert(Task).values(
            id=uuid.uuid4(), lead_id=lead.id, company_id=lead.company_id, assigned_to_id=rep.id if rep else None,
            title=title[:500], description=description, task_type=task_type, priority=priority, due_at=now,
            is_completed=False, sequence_run_id=run.id, sequence_step_number=number, created_at=now, updated_at=now)
        .on_conflict_do_nothing(constraint="task_run_step_unique").returning(Task.id)).scalar_one_or_none()
    if task_id is not None:
        record("task.created", f"Task: {title[:200]}", lead=lead.id, company=lead.company_id,
               detail={"task_id": task_id, "sequence_run_id": run.id, "assigned_to": rep.id if rep else None})


def add_to_dialer(lead: Lead, rep) -> None:
    """The lead joins the rep's "Sequence calls" list in the power dialer (one list per rep)."""
    from app.inbox.models import CallList

    db.session.execute(select(func.pg_advisory_xact_lock(func.hashtext(f"sequence-calls:{rep.id}"))))
    call_list = db.session.scalar(
        select(CallList).where(CallList.filter_criteria["sequence_calls_for"].astext == str(rep.id))
        .order_by(CallList.created_at).limit(1))
    if call_list is None:
        call_list = CallList(name=f"Sequence calls — {rep.full_name}", lead_ids=[],
                             filter_criteria={"sequence_calls_for": str(rep.id)}, created_by_id=rep.id)
        db.session.add(call_list)
        db.session.flush()
    if lead.id not in (call_list.lead_ids or []):
        call_list.lead_ids = [*(call_list.lead_ids or []), lead.id]
        call_list.is_active = True
    db.session.flush()
