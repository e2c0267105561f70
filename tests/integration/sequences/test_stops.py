"""Stops through the inbox's real ingest points: a reply (not an auto-reply) from the contact
or anyone at the company, a connected call, a booking — each a reason and an activity."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from tests.integration.sequences.conftest import CUSTOMER, OUR_NUMBER, TUESDAY_9_CHICAGO


@pytest.fixture
def running(world, db_session):
    from app.crm.tags.services import apply_tag

    apply_tag(world["lead"], "interested", actor=world["rep"])
    db_session.commit()
    return world


def _run(lead_id):
    from app.extensions import db
    from app.sequences.models import SequenceRun

    db.session.expire_all()
    return db.session.scalar(select(SequenceRun).where(SequenceRun.lead_id == lead_id))


def _stopped_activities(lead_id) -> int:
    from app.activity.models import Activity
    from app.extensions import db

    return db.session.scalar(select(func.count()).select_from(Activity).where(
        Activity.lead_id == lead_id, Activity.activity_type == "sequence.stopped"))


def _email(contact_email, subject, *, message_id="<reply-1@customer.example>"):
    from app.inbox.email.services import ingest_inbound_email

    return ingest_inbound_email(contact_email, "sales@example.com", subject, "Sounds good, call me.", message_id)


def test_an_email_reply_stops_the_run_with_the_reason(running, db_session):
    from app.sequences import engine
    from app.sequences.models import SequenceStatus

    lead = running["lead"]
    assert _email(lead.contact.email, "Re: Trackers") == "received"
    db_session.commit()
    run = _run(lead.id)
    assert run.status is SequenceStatus.CANCELED
    assert run.canceled_reason.startswith(f"The customer replied by e-mail ({lead.contact.email})")
    assert _stopped_activities(lead.id) == 1
    assert engine.tick(TUESDAY_9_CHICAGO).claimed == 0  # nothing fires


@pytest.mark.parametrize("subject", ["Out of Office: back Monday", "Automatic reply: Trackers", "Auto-Reply", "OOO"])
def test_out_of_office_replies_do_not_stop_it(running, db_session, subject):
    from app.sequences.models import SequenceStatus

    _email(running["lead"].contact.email, subject)
    db_session.commit()
    assert _run(running["lead"].id).status is SequenceStatus.ACTIVE


@pytest.mark.parametrize("headers", [{"Auto-Submitted": "auto-replied"}, {"X-Autoreply": "yes"},
                                     {"Precedence": "auto_reply"}])
def test_auto_reply_headers_are_recognised(headers):
    from app.sequences.stops import is_auto_reply

    assert is_auto_reply("Re: Trackers", headers)
    assert not is_auto_reply("Re: Trackers", {"Auto-Submitted": "no"})
    assert not is_auto_reply("Re: Trackers for the office", None)


def test_a_reply_from_a_colleague_at_the_same_company_stops_it(running, db_session, factory):
    from app.sequences.models import SequenceStatus

    lead = running["lead"]
    colleague = factory.contact(lead.company, email="dispatch@abc.example", email_normalized="dispatch@abc.example")
    factory.lead(lead.company, colleague)
    db_session.commit()
    _email(colleague.email, "Re: Trackers", message_id="<colleague@abc.example>")
    db_session.commit()
    run = _run(lead.id)
    assert run.status is SequenceStatus.CANCELED and "dispatch@abc.example" in run.canceled_reason


def test_an_inbound_sms_stops_it(running, db_session):
    from app.inbox.sms.services import apply_event
    from app.sequences.models import SequenceStatus

    envelope = {"event": "sms:received", "deviceId": "pixel", "id": "evt-1",
                "payload": {"messageId": "m-1", "message": "Yes, interested", "sender": CUSTOMER,
                            "recipient": OUR_NUMBER, "receivedAt": datetime.now(UTC).isoformat()}}
    assert apply_event(envelope, datetime.now(UTC)).startswith("received")
    db_session.commit()
    run = _run(running["lead"].id)
    assert run.status is SequenceStatus.CANCELED and run.canceled_reason.startswith("The customer replied by SMS")


def test_a_connected_call_stops_it_and_a_missed_one_does_not(running, db_session):
    from app.inbox.calls.services import log_call
    from app.inbox.models import CallOutcome, MessageDirection
    from app.sequences.models import SequenceStatus

    lead = running["lead"]
    log_call(lead, actor=running["rep"], direction=MessageDirection.OUTBOUND, outcome=CallOutcome.NO_ANSWER)
    db_session.commit()
    assert _run(lead.id).status is SequenceStatus.ACTIVE
    log_call(lead, actor=running["rep"], direction=MessageDirection.OUTBOUND, outcome=CallOutcome.CONNECTED,
             duration_seconds=120)
    db_session.commit()
    run = _run(lead.id)
    assert run.status is SequenceStatus.CANCELED and run.canceled_reason == "A call with the customer connected"


def test_a_calcom_booking_stops_it(running, db_session):
    from app.inbox.bookings.services import apply_calcom_event
    from app.sequences.models import SequenceStatus
    from tests.integration.inbox.bookings.calcom import story

    lead = running["lead"]
    apply_calcom_event(story(lead.contact.email)["created"], received_at=datetime.now(UTC))
    db_session.commit()
    run = _run(lead.id)
    assert run.status is SequenceStatus.CANCELED and run.canceled_reason.startswith("The customer booked")


def test_a_reply_committed_before_the_claim_stops_the_step_even_without_the_hook(running, db_session):
    """The engine's own re-check: an inbound SMS stored by a path that never called the hook."""
    import uuid

    from app.inbox.models import MessageDirection, SmsMessage, SmsStatus
    from app.inbox.models import SmsMessage as Sms
    from app.sequences import engine
    from app.sequences.models import SequenceStatus

    lead = running["lead"]
    db_session.add(SmsMessage(id=uuid.uuid4(), lead_id=lead.id, contact_id=lead.contact_id,
                              direction=MessageDirection.INBOUND, from_number=CUSTOMER, to_number=OUR_NUMBER,
                              body="yes", provider="android_gateway", status=SmsStatus.DELIVERED, attempts=0,
                              created_at=datetime.now(UTC)))
    db_session.commit()
    outcome = engine.tick(TUESDAY_9_CHICAGO)
    assert outcome.stopped == 1 and outcome.fired == 0
    assert db_session.scalar(select(func.count()).select_from(Sms).where(
        Sms.direction == MessageDirection.OUTBOUND)) == 0
    assert _run(lead.id).status is SequenceStatus.CANCELED


def test_a_bounce_pauses_the_run_until_someone_resumes_it(running, db_session):
    from app.sequences import runs, stops
    from app.sequences.models import SequenceStatus

    lead = running["lead"]
    assert stops.email_bounced(lead.contact.email) == 1
    db_session.commit()
    run = _run(lead.id)
    assert run.status is SequenceStatus.PAUSED and "bounced" in run.paused_reason
    runs.resume(run, actor=running["rep"])
    db_session.commit()
    assert _run(lead.id).status is SequenceStatus.ACTIVE


def test_plusvibe_leads_are_paused_there_when_a_run_starts_and_stopped_when_they_reply(world, db_session):
    from app.crm.tags.services import apply_tag

    lead = world["lead"]
    lead.contact.plusvibe_lead_id = "pv-123"
    apply_tag(lead, "interested", actor=world["rep"])
    db_session.commit()
    assert (lead.plusvibe_paused, lead.plusvibe_stopped) == (True, False)
    _email(lead.contact.email, "Re: Trackers")
    db_session.commit()
    db_session.refresh(lead)
    assert lead.plusvibe_stopped is True


def test_a_send_the_provider_refuses_fails_the_step_and_pauses_the_run_with_its_reason(running, db_session):
    """The inbox's send job gives up (a permanent refusal, or its last retry): the step that
    queued the message is FAILED with the provider's words and the run paused with them."""
    from app.inbox.email import services as email_services
    from app.inbox.models import EmailMessage, EmailStatus
    from app.inbox.sending import send_claimed
    from app.integrations.mail import DeliveryFailed
    from app.sequences import engine
    from app.sequences.models import SequenceStatus, SequenceStepLog, StepStatus

    lead = running["lead"]
    engine.tick(TUESDAY_9_CHICAGO)
    email = db_session.scalar(select(EmailMessage))
    claimed = email_services.claim_for_send(email.id)

    def refuse():
        raise DeliveryFailed("550 5.1.1 mailbox unavailable", permanent=True)

    assert send_claimed(claimed.id, statuses=EmailStatus, settle=email_services.settle, send=refuse,
                        failure=DeliveryFailed, on_sent=email_services.record_sent_activity) == "failed"
    run = _run(lead.id)
    log = db_session.scalar(select(SequenceStepLog).where(SequenceStepLog.sequence_run_id == run.id,
                                                          SequenceStepLog.step_number == 0))
    assert log.status is StepStatus.FAILED and log.error_message == "550 5.1.1 mailbox unavailable"
    assert run.status is SequenceStatus.PAUSED
    assert run.paused_reason == "Step 1 (e-mail) could not be sent: 550 5.1.1 mailbox unavailable"
