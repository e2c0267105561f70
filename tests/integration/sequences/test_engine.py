"""The engine in one process: each step once, in the send window, the wait, the stops."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from tests.integration.sequences.conftest import TUESDAY_9_CHICAGO, make_lead


def _runs(lead_id):
    from app.extensions import db
    from app.sequences.models import SequenceRun

    return list(db.session.scalars(select(SequenceRun).where(SequenceRun.lead_id == lead_id)
                                   .order_by(SequenceRun.created_at)).all())


def _count(model, *where):
    from app.extensions import db

    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _tick(now):
    from app.sequences import engine

    return engine.tick(now)


def test_the_tag_starts_one_run_and_every_step_fires_once_in_order(world, db_session):
    from app.crm.models import Task, TaskType
    from app.crm.tags.services import apply_tag
    from app.inbox.models import EmailMessage, EmailStatus, EmailThread, SmsMessage, SmsStatus
    from app.job_outbox.models import OutboxJob
    from app.sequences.models import SequenceStatus, SequenceStepLog, StepStatus

    lead = world["lead"]
    apply_tag(lead, "interested", actor=world["rep"])
    apply_tag(lead, "interested", actor=world["rep"])  # twice: nothing twice
    db_session.commit()
    [run] = _runs(lead.id)
    assert run.status is SequenceStatus.ACTIVE and run.current_step == 0 and run.next_step_at is not None
    assert _count(OutboxJob, OutboxJob.func == "app.sequences.jobs.tick") == 1  # the kick

    outcome = _tick(TUESDAY_9_CHICAGO)
    assert outcome.fired == 2  # the e-mail, then the wait (due at once)
    [email] = db_session.scalars(select(EmailMessage).join(EmailThread).where(EmailThread.lead_id == lead.id)).all()
    assert email.status is EmailStatus.QUEUED and email.subject == f"Trackers for {lead.company.name}"
    assert email.body_text.startswith("Hi Mike,")
    assert _count(OutboxJob, OutboxJob.func == "app.inbox.email.jobs.send_email") == 1
    db_session.refresh(run)
    # two business days after Tuesday 09:00 in Chicago (the phone's area code): Thursday 09:00 CST
    assert run.current_step == 2 and run.next_step_at == datetime(2026, 12, 3, 15, 0, tzinfo=UTC)

    assert _tick(TUESDAY_9_CHICAGO + timedelta(days=1)).claimed == 0  # the wait holds
    outcome = _tick(datetime(2026, 12, 3, 15, 0, tzinfo=UTC))
    assert outcome.fired == 2 and outcome.completed == 1
    [sms] = db_session.scalars(select(SmsMessage).where(SmsMessage.lead_id == lead.id)).all()
    assert sms.status is SmsStatus.QUEUED and sms.body == "Hi Mike, did you see my e-mail?"
    assert sms.gateway_id is not None  # the rep's phone sends it
    [task] = db_session.scalars(select(Task).where(Task.lead_id == lead.id)).all()
    assert (task.task_type, task.assigned_to_id, task.sequence_run_id, task.sequence_step_number) == \
        (TaskType.FOLLOW_UP, world["rep"].id, run.id, 3)
    db_session.refresh(run)
    assert run.status is SequenceStatus.COMPLETED and run.next_step_at is None
    logs = db_session.scalars(select(SequenceStepLog).where(SequenceStepLog.sequence_run_id == run.id)
                              .order_by(SequenceStepLog.step_number)).all()
    assert [(log.step_number, log.action_type, log.status) for log in logs] == [
        (0, "email", StepStatus.FIRED), (1, "wait", StepStatus.FIRED), (2, "sms", StepStatus.FIRED),
        (3, "task", StepStatus.FIRED)]
    assert _tick(datetime(2026, 12, 10, 15, 0, tzinfo=UTC)).claimed == 0


def test_a_second_claim_of_a_done_step_cannot_do_it_again(world, db_session):
    """The database's unique (run, step) log: even if a run's pointer went back (a stale
    write, a bug), the step is not performed twice."""
    from app.crm.tags.services import apply_tag
    from app.inbox.models import EmailMessage
    from app.sequences.models import SequenceRun, SequenceStepLog

    apply_tag(world["lead"], "interested", actor=world["rep"])
    db_session.commit()
    [run] = _runs(world["lead"].id)
    _tick(TUESDAY_9_CHICAGO)
    db_session.execute(SequenceRun.__table__.update().where(SequenceRun.id == run.id)
                       .values(current_step=0, next_step_at=TUESDAY_9_CHICAGO))
    outcome = _tick(TUESDAY_9_CHICAGO)
    assert outcome.skipped >= 1
    assert _count(EmailMessage) == 1
    assert _count(SequenceStepLog, SequenceStepLog.sequence_run_id == run.id, SequenceStepLog.step_number == 0) == 1


def test_steps_wait_for_the_send_window_in_the_contacts_time_zone(world, db_session, factory):
    from app.crm.tags.services import apply_tag
    from app.inbox.models import EmailMessage

    lead = make_lead(factory, world["rep"], timezone="America/Los_Angeles")
    apply_tag(lead, "interested", actor=world["rep"])
    db_session.commit()
    saturday_3am_la = datetime(2026, 12, 5, 11, 0, tzinfo=UTC)
    outcome = _tick(saturday_3am_la)
    assert outcome.deferred == 1 and _count(EmailMessage) == 0
    [run] = _runs(lead.id)
    assert run.next_step_at == datetime(2026, 12, 7, 17, 0, tzinfo=UTC)  # Monday 09:00 PST
    assert _tick(datetime(2026, 12, 7, 16, 59, tzinfo=UTC)).claimed == 0
    assert _tick(datetime(2026, 12, 7, 17, 0, tzinfo=UTC)).fired == 2 and _count(EmailMessage) == 1


def test_the_time_zone_comes_from_the_contact_then_the_phone_then_the_state(world, factory, db_session):
    from app.crm.models import AddressType, CompanyAddress
    from app.sequences.windows import contact_zone

    rep = world["rep"]
    lead = make_lead(factory, rep, timezone="America/Denver")
    assert str(contact_zone(lead.contact, lead.company, "UTC")[0]) == "America/Denver"
    lead = make_lead(factory, rep, phone="+13055550100")  # Miami
    assert str(contact_zone(lead.contact, lead.company, "UTC")[0]) == "America/New_York"
    lead = make_lead(factory, rep, phone=None)
    db_session.add(CompanyAddress(company_id=lead.company_id, label="HQ", type=AddressType.BILLING,
                                  address_line1="1 Main", city="Phoenix", state="AZ", zip="85001",
                                  is_default_billing=True))
    db_session.flush()
    db_session.refresh(lead.company)
    assert str(contact_zone(lead.contact, lead.company, "UTC")[0]) == "America/Phoenix"
    lead = make_lead(factory, rep, phone=None)
    assert str(contact_zone(lead.contact, lead.company, "America/New_York")[0]) == "America/New_York"


def test_removing_the_tag_cancels_the_run_and_applying_it_again_starts_a_new_one(world, db_session):
    from app.crm.tags.services import apply_tag, remove_tag
    from app.sequences.models import SequenceStatus

    lead = world["lead"]
    apply_tag(lead, "interested", actor=world["rep"])
    remove_tag(lead, "interested", actor=world["rep"])
    db_session.commit()
    [run] = _runs(lead.id)
    assert run.status is SequenceStatus.CANCELED and run.canceled_reason == "The tag “Interested” was removed"
    apply_tag(lead, "interested", actor=world["rep"])
    db_session.commit()
    runs = _runs(lead.id)
    assert [r.status for r in runs] == [SequenceStatus.CANCELED, SequenceStatus.ACTIVE]


def test_the_database_refuses_a_second_live_run(world, db_session):
    import sqlalchemy.exc

    from app.sequences.models import SequenceRun

    lead, definition = world["lead"], world["definition"]
    for _ in range(2):
        db_session.add(SequenceRun(lead_id=lead.id, sequence_def_id=definition.id, tag_slug="interested"))
    with pytest.raises(sqlalchemy.exc.IntegrityError):
        db_session.flush()


def test_bulk_tagging_500_leads_starts_500_runs_with_one_kick(world, db_session, factory):
    from app.crm.records.lead_list import bulk_apply
    from app.job_outbox.models import OutboxJob
    from app.sequences.models import SequenceRun

    leads = [make_lead(factory, world["rep"]) for _ in range(500)]
    db_session.commit()
    bulk_apply([lead.id for lead in leads], "tag", actor=world["admin"], tag="interested")
    bulk_apply([lead.id for lead in leads[:10]], "tag", actor=world["admin"], tag="interested")  # again
    db_session.commit()
    assert _count(SequenceRun) == 500
    assert _count(OutboxJob, OutboxJob.func == "app.sequences.jobs.tick") == 1  # one per transaction


@pytest.mark.parametrize("change, status, reason", [
    ("dnc", "CANCELED", "Do not contact: the lead asked not to be contacted"),
    ("won", "CANCELED", "The lead moved to Won"),
    ("bounce", "PAUSED", "bounced"),
])
def test_the_engine_rechecks_the_stop_rules_before_a_step(world, db_session, change, status, reason):
    from app.crm.models import LeadStage
    from app.crm.tags.services import apply_tag
    from app.inbox.models import EmailMessage

    lead = world["lead"]
    apply_tag(lead, "interested", actor=world["rep"])
    if change == "dnc":
        lead.is_dnc = True
    elif change == "won":
        lead.stage = LeadStage.WON
    else:
        lead.contact.email_status = "bounced"
    db_session.commit()
    outcome = _tick(TUESDAY_9_CHICAGO)
    assert outcome.stopped == 1 and _count(EmailMessage) == 0
    [run] = _runs(lead.id)
    assert run.status.value == status and reason in (run.canceled_reason or run.paused_reason)


def test_a_template_that_cannot_render_fails_the_step_and_pauses_the_run(world, db_session):
    from app.crm.tags.services import apply_tag
    from app.sequences.models import SequenceStatus, SequenceStepLog, StepStatus

    world["email"].body = "Hi {{ contact.first_name }}"  # no default
    lead = world["lead"]
    lead.contact.first_name = None
    apply_tag(lead, "interested", actor=world["rep"])
    db_session.commit()
    assert _tick(TUESDAY_9_CHICAGO).failed == 1
    [run] = _runs(lead.id)
    log = db_session.scalar(select(SequenceStepLog).where(SequenceStepLog.sequence_run_id == run.id))
    assert log.status is StepStatus.FAILED and "first name" in log.error_message
    assert run.status is SequenceStatus.PAUSED and run.paused_reason.startswith("Step 1 (email) failed:")


def test_a_step_the_lead_cannot_take_is_skipped_with_the_reason(world, db_session, factory):
    from app.crm.tags.services import apply_tag
    from app.sequences.models import SequenceStepLog, StepStatus

    lead = make_lead(factory, world["rep"], email=None, email_normalized=None)
    apply_tag(lead, "interested", actor=world["rep"])
    db_session.commit()
    _tick(TUESDAY_9_CHICAGO)
    [run] = _runs(lead.id)
    log = db_session.scalar(select(SequenceStepLog).where(SequenceStepLog.sequence_run_id == run.id,
                                                          SequenceStepLog.step_number == 0))
    assert log.status is StepStatus.SKIPPED and log.error_message == "The contact has no e-mail address."
    assert run.current_step == 2  # went on: the wait fired too


def test_edits_apply_to_pending_steps(world, db_session):
    from app.crm.models import Task
    from app.crm.tags.services import apply_tag
    from app.sequences.definitions import DEFAULT_WINDOW, save_definition
    from app.sequences.models import SequenceStatus

    lead = world["lead"]
    apply_tag(lead, "interested", actor=world["rep"])
    db_session.commit()
    _tick(TUESDAY_9_CHICAGO)  # e-mail and wait done
    definition = save_definition(world["definition"], name="Interested follow-up", tag_slug="interested",
                                 description=None, is_active=True, window=dict(DEFAULT_WINDOW), actor=world["admin"],
                                 steps=[{"type": "email", "template_id": str(world["email"].id)},
                                        {"type": "wait", "amount": 1, "unit": "hours"},
                                        {"type": "call", "text": "Ask about the fleet size"}])
    db_session.commit()
    assert definition.steps["revision"] == 2
    _tick(datetime(2026, 12, 3, 15, 0, tzinfo=UTC))
    [run] = _runs(lead.id)
    [task] = db_session.scalars(select(Task).where(Task.sequence_run_id == run.id)).all()
    assert task.title.startswith("Call ") and task.description == "Ask about the fleet size"
    assert run.status is SequenceStatus.COMPLETED


def test_a_call_step_puts_the_lead_in_the_reps_dialer_list(world, db_session, factory):
    from app.crm.tags.services import apply_tag
    from app.inbox.models import CallList
    from app.sequences.definitions import DEFAULT_WINDOW, save_definition

    save_definition(world["definition"], name="Call them", tag_slug="interested", description=None, is_active=True,
                    window=dict(DEFAULT_WINDOW), steps=[{"type": "call"}], actor=world["admin"])
    leads = [world["lead"], make_lead(factory, world["rep"])]
    for lead in leads:
        apply_tag(lead, "interested", actor=world["rep"])
    db_session.commit()
    _tick(TUESDAY_9_CHICAGO)
    [call_list] = db_session.scalars(select(CallList)).all()
    assert set(call_list.lead_ids) == {lead.id for lead in leads}
    assert call_list.filter_criteria == {"sequence_calls_for": str(world["rep"].id)}


def test_texts_from_one_phone_wait_their_turn(world, db_session, factory):
    """Two runs of the same rep due at once: the phone sends one text, the other waits
    SEQUENCE_SMS_INTERVAL_S after it (not failed, not burst)."""
    from app.crm.tags.services import apply_tag
    from app.inbox.models import SmsMessage
    from app.sequences import engine
    from app.sequences.definitions import save_definition

    save_definition(world["definition"], name="Text first", tag_slug="interested", description=None, is_active=True,
                    window={"days": list(range(7)), "start": "00:00", "end": "23:59"},
                    steps=[{"type": "sms", "template_id": str(world["sms"].id)}], actor=world["admin"])
    leads = [world["lead"], make_lead(factory, world["rep"], phone="+12145550144", timezone="UTC")]
    world["lead"].contact.timezone = "UTC"
    for lead in leads:
        apply_tag(lead, "interested", actor=world["rep"])
    db_session.commit()
    now = datetime.now(UTC) + timedelta(seconds=1)  # the window is all day, in UTC
    outcome = engine.tick(now)
    assert (outcome.fired, outcome.deferred) == (1, 1)
    [sent] = db_session.scalars(select(SmsMessage)).all()
    waiting = next(r for lead in leads for r in _runs(lead.id) if r.current_step == 0)
    assert waiting.next_step_at == sent.created_at + timedelta(seconds=5)
    assert engine.tick(waiting.next_step_at).fired == 1 and _count(SmsMessage) == 2


def test_the_mailbox_daily_cap_defers_e_mail_steps(world, db_session, factory, app, monkeypatch):
    from app.crm.tags.services import apply_tag
    from app.inbox.models import EmailMessage
    from app.sequences import engine

    monkeypatch.setitem(app.config, "SEQUENCE_EMAIL_DAILY_CAP", 1)
    leads = [world["lead"], make_lead(factory, world["rep"])]
    for lead in leads:
        apply_tag(lead, "interested", actor=world["rep"])
    db_session.commit()
    outcome = engine.tick(TUESDAY_9_CHICAGO)
    assert outcome.deferred == 1 and _count(EmailMessage) == 1
    waiting = next(r for lead in leads for r in _runs(lead.id) if r.current_step == 0)
    assert waiting.next_step_at == TUESDAY_9_CHICAGO + timedelta(hours=1)


def test_a_switched_off_sequence_starts_no_run_and_pauses_the_running_ones(world, db_session, factory):
    from app.crm.tags.services import apply_tag
    from app.sequences.models import SequenceStatus

    running = world["lead"]
    apply_tag(running, "interested", actor=world["rep"])
    world["definition"].is_active = False
    later = make_lead(factory, world["rep"])
    apply_tag(later, "interested", actor=world["rep"])
    db_session.commit()
    assert _runs(later.id) == []
    assert _tick(TUESDAY_9_CHICAGO).stopped == 1
    [run] = _runs(running.id)
    assert run.status is SequenceStatus.PAUSED and "switched off" in run.paused_reason
