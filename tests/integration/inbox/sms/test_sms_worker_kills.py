"""Each text is sent exactly once when its worker is SIGKILLed mid-send (issue 10).

Real `flask --app wsgi worker` processes (as tests/integration/test_faults_workers.py starts
them) send through the real `android-sms-gateway` client to a local gateway that counts how
many times it accepted each id. The gateway holds the first POST of the text open so the
worker can be killed exactly there:

- before the send: the gateway never accepted it; the row is left SENDING. The reconciler
  looks the id up (404), puts the row back to QUEUED, and it is sent: accepted once.
- after the send, before the commit: the gateway has it; the row is left SENDING. The
  reconciler looks the id up and settles the row SENT without sending it again: one POST.
"""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.conftest import committing_app
from tests.integration.inbox.sms.conftest import CUSTOMER, OUR_NUMBER
from tests.integration.inbox.sms.fake_gateway import FakeGateway
from tests.integration.test_faults_workers import Workers, wait_for


@pytest.fixture
def kills_app(databases, redis_url):
    with committing_app(databases, redis_url, "crm_sms_worker_kills", SMS_BACKEND="android_sms_gateway",
                        SMS_RECONCILE_AFTER_S=2) as app:
        yield app


def _queue_a_text(app, gateway_url: str):
    from app.auth.models import UserRole
    from app.extensions import db
    from app.inbox.sms import services
    from tests.factories import Factory

    factory = Factory(db.session)
    rep = factory.user(UserRole.REP)
    services.save_gateway(None, user_id=rep.id, label="Pixel", gateway_url=gateway_url, username="jordan",
                          password="gateway-pass", from_number=OUR_NUMBER, is_active=True)
    company = factory.company()
    contact = factory.contact(company, phone=CUSTOMER, phone_e164=CUSTOMER, phone_type="mobile", is_sms_eligible=True)
    lead = factory.lead(company, contact)
    return services.send_sms(lead, body="Pricing for 14 trucks: $79 each.", actor=rep)


def _status(message_id):
    from app.extensions import db
    from app.inbox.models import SmsMessage

    db.session.rollback()
    return db.session.scalar(select(SmsMessage.status).where(SmsMessage.id == message_id))


@pytest.mark.parametrize("moment", ["before the send", "after the send, before the commit"])
def test_a_worker_killed_mid_send_leaves_the_text_sent_exactly_once(kills_app, redis_url, moment, capsys):
    import time

    from app.activity.models import Activity
    from app.extensions import db
    from app.inbox.models import SmsStatus

    group = Workers(kills_app, redis_url, SMS_BACKEND="android_sms_gateway", SMS_RECONCILE_AFTER_S="2")
    try:
        with FakeGateway() as gateway, kills_app.app_context():
            message = _queue_a_text(kills_app, gateway.url)
            message_id = str(message.id)
            (gateway.hang_before if moment == "before the send" else gateway.hang_after).add(message_id)
            db.session.commit()  # the row (QUEUED) and its job

            worker = group.start()
            assert gateway.waiting.wait(120), group.log_tail()
            assert _status(message.id) is SmsStatus.SENDING  # claimed and committed before the send
            group.kill_everything(worker)
            killed_at = time.monotonic()
            gateway.release()
            assert gateway.accepted == ({} if moment == "before the send" else {message_id: 1})

            group.start()  # a supervisor's new worker: its relay runs the reconciler's sweep
            settled = wait_for(lambda: _status(message.id) is SmsStatus.SENT, timeout=240, step=0.5)
            assert settled, group.log_tail()
            recovery = time.monotonic() - killed_at
            time.sleep(3)  # anything that would send it again has had its chance
            assert gateway.accepted == {message_id: 1}  # exactly once
            assert gateway.posts[message_id] == (2 if moment == "before the send" else 1)  # never a blind resend
            db.session.rollback()
            assert db.session.scalar(select(func.count()).select_from(Activity).where(
                Activity.activity_type == "sms.sent", Activity.lead_id == message.lead_id)) == 1
    finally:
        group.stop_all()
    with capsys.disabled():
        print(f"\nsms: worker SIGKILLed {moment}; the text was settled SENT {recovery:.1f} s later, accepted once")
