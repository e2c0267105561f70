"""One sweep for every channel's sends left SENDING by a dead worker (app.inbox.sending): the
job outbox relay runs it once a minute; it asks for one reconcile job per stuck message, on
the channel's queue, through the channel's own reconciler (SMS: the gateway looks the id up;
e-mail: the outbox store / SMTP's "check Sent")."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from app.inbox.email.services import send_email
from app.inbox.models import EmailMessage, EmailStatus, MessageDirection, SmsMessage, SmsStatus
from app.inbox.sending import CHANNELS, reconcile_send, sweep_stuck_sends
from app.job_outbox.models import OutboxJob
from app.job_outbox.relay import SWEEPS


def _stuck_sms(factory, minutes: int) -> SmsMessage:
    return factory._add(SmsMessage(
        id=uuid.uuid4(), direction=MessageDirection.OUTBOUND, from_number="+12145550188",
        to_number="+12145550143", body="Hi", status=SmsStatus.SENDING, attempts=1,
        claimed_at=datetime.now(UTC) - timedelta(minutes=minutes)))


def _stuck_email(db_session, factory, minutes: int) -> EmailMessage:
    lead = factory.lead()
    lead.contact.email = "buyer@fleet.example.com"
    message = send_email(lead, subject="Quote", body="Attached.", actor=factory.user())
    db_session.execute(update(EmailMessage).where(EmailMessage.id == message.id).values(
        status=EmailStatus.SENDING, attempts=1, claimed_at=datetime.now(UTC) - timedelta(minutes=minutes)))
    return message


def reconcile_jobs(db_session) -> dict[str, tuple]:
    rows = db_session.scalars(select(OutboxJob).where(OutboxJob.func == "app.inbox.sending.reconcile_send")).all()
    return {job.job_key: (job.queue, tuple(job.args["args"])) for job in rows}


def test_the_relay_runs_one_sweep_for_every_channel():
    assert "app.inbox.sending.sweep_stuck_sends" in SWEEPS
    assert not [path for path in SWEEPS if path.startswith(("app.inbox.sms", "app.inbox.email"))]
    assert set(CHANNELS) == {"sms", "email"}


def test_one_sweep_asks_each_channel_to_reconcile_its_stuck_sends(app, db_session, factory):
    old_sms = _stuck_sms(factory, 5)
    _stuck_sms(factory, 0)  # claimed just now: its worker may still be sending
    old_email = _stuck_email(db_session, factory, 5)
    db_session.flush()
    assert sweep_stuck_sends() == 2  # the young one waits for its worker
    assert reconcile_jobs(db_session) == {
        f"sms-reconcile-{old_sms.id}-1": ("sms", ("sms", str(old_sms.id))),
        f"email-reconcile-{old_email.id}-1": ("mail", ("email", str(old_email.id))),
    }
    assert sweep_stuck_sends() == 2  # asked again next minute: the same job keys, nothing new
    assert len(reconcile_jobs(db_session)) == 2
    assert sweep_stuck_sends("email") == 1 and sweep_stuck_sends("sms") == 1


def test_reconcile_send_settles_through_the_channels_reconciler(app, db_session, factory):
    message = _stuck_email(db_session, factory, 5)
    db_session.commit()
    assert reconcile_send("email", str(message.id)) == "requeued"  # not in the outbox: sent again, same id
    db_session.expire_all()
    assert message.status is EmailStatus.QUEUED
    sms = _stuck_sms(factory, 5)
    db_session.commit()
    assert reconcile_send("sms", str(sms.id)) == "failed"  # no gateway to ask: failed with the reason
    db_session.expire_all()
    assert sms.status is SmsStatus.FAILED and sms.error == "no SMS gateway"
