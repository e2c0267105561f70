"""Each e-mail is sent exactly once through Gmail when its worker is SIGKILLed mid-send (issue 10).

Real `flask --app wsgi worker` processes (MAIL_BACKEND=gmail) send through the official Gmail
client to a local Gmail server that keeps every message it accepted. The server holds the first
send of the e-mail's Message-ID open so the worker can be killed exactly there:

- before the send: Gmail never accepted it; the row is left SENDING. The reconciler searches
  Sent for the Message-ID (`rfc822msgid:`), finds nothing, puts the row back to QUEUED, and it
  is sent: one message in Sent.
- after the send, before the commit: Gmail has it; the row is left SENDING. The reconciler finds
  it in Sent and settles the row SENT without sending it again: one send request in all.
"""
from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from tests.conftest import committing_app
from tests.gmail_api_fake import FakeGmail
from tests.integration.inbox.email.conftest import (
    CUSTOMER,
    REP_ADDRESS,
    connect_account,
    gmail_config,
)
from tests.integration.test_faults_workers import Workers, wait_for


@pytest.fixture
def fake():
    with FakeGmail() as server:
        yield server


@pytest.fixture
def kills_app(databases, redis_url, fake):
    with committing_app(databases, redis_url, "crm_gmail_worker_kills", MAIL_BACKEND="gmail",
                        EMAIL_RECONCILE_AFTER_S=2, **gmail_config(fake)) as app:
        yield app


def _queue_an_email(fake):
    from app.auth.models import UserRole
    from app.extensions import db
    from app.inbox.email import services
    from tests.factories import Factory

    factory = Factory(db.session)
    rep = factory.user(UserRole.REP, first_name="Jordan", last_name="Reyes")
    connect_account(fake, rep)
    company = factory.company()
    contact = factory.contact(company, email=CUSTOMER, email_normalized=CUSTOMER)
    lead = factory.lead(company, contact)
    return services.send_email(lead, subject="GPS for your vans", body="22 trackers at $79 each.", actor=rep), lead


def _status(email_id):
    from app.extensions import db
    from app.inbox.models import EmailMessage

    db.session.rollback()
    return db.session.scalar(select(EmailMessage.status).where(EmailMessage.id == email_id))


def _sends(fake) -> int:
    return sum(1 for method, path in fake.requests if method == "POST" and path.startswith("/gmail/v1/users/me/messages/send"))


@pytest.mark.parametrize("moment", ["before the send", "after the send, before the commit"])
def test_a_worker_killed_mid_send_leaves_the_email_sent_exactly_once(kills_app, redis_url, fake, moment, capsys):
    from app.activity.models import Activity
    from app.extensions import db
    from app.inbox.models import EmailStatus

    group = Workers(kills_app, redis_url, MAIL_BACKEND="gmail", EMAIL_RECONCILE_AFTER_S="2",
                    **gmail_config(fake))
    try:
        with kills_app.app_context():
            message, lead = _queue_an_email(fake)
            (fake.hang_before if moment == "before the send" else fake.hang_after).add(message.message_id)
            db.session.commit()  # the row (QUEUED) and its job

            worker = group.start()
            assert fake.waiting.wait(120), group.log_tail()
            assert _status(message.id) is EmailStatus.SENDING  # claimed and committed before the send
            group.kill_everything(worker)
            killed_at = time.monotonic()
            fake.release()
            box = fake.mailbox(REP_ADDRESS)
            assert len(box.sent) == (0 if moment == "before the send" else 1)

            group.start()  # a supervisor's new worker: its relay runs the reconciler's sweep
            settled = wait_for(lambda: _status(message.id) is EmailStatus.SENT, timeout=240, step=0.5)
            assert settled, group.log_tail()
            recovery = time.monotonic() - killed_at
            time.sleep(3)  # anything that would send it again has had its chance
            assert [s["headers"]["Message-ID"] for s in box.sent] == [message.message_id]  # exactly once
            assert _sends(fake) == (2 if moment == "before the send" else 1)  # never a blind resend
            searches = [p for m, p in fake.requests if "q=rfc822msgid" in p]
            assert searches, "the reconciler looked in Sent first"
            db.session.rollback()
            assert db.session.scalar(select(func.count()).select_from(Activity).where(
                Activity.activity_type == "email.sent", Activity.lead_id == lead.id)) == 1
    finally:
        group.stop_all()
    with capsys.disabled():
        print(f"\ngmail: worker SIGKILLed {moment}; the e-mail was settled SENT {recovery:.1f} s later, in Sent once")
