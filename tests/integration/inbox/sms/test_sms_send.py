"""Sending a text: the QUEUED row and its job in the request's transaction, the job's claim,
do-not-contact at send time, the composer's refusals, the gateway backend (our id as the
gateway's message id, a 409 is success), credentials encrypted at rest."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from app.inbox.models import Conversation, SmsGateway, SmsMessage, SmsStatus
from app.inbox.sms import services
from app.inbox.sms.models import SmsOutboxMessage
from app.inbox.sms.segments import count_segments
from app.job_outbox.models import OutboxJob
from tests.factories import csrf_token, login
from tests.integration.inbox.sms.conftest import CUSTOMER, OUR_NUMBER
from tests.integration.inbox.sms.fake_gateway import FakeGateway
from tests.integration.test_payments import work_all


def post_text(client, app, lead, body):
    return client.post(f"/leads/{lead.id}/sms", data={"body": body, "csrf_token": csrf_token(client, app)},
                       headers={"HX-Request": "true"})


def messages_of(db_session, lead):
    return db_session.scalars(select(SmsMessage).where(SmsMessage.lead_id == lead.id)).all()


def test_a_text_is_queued_with_its_job_then_sent_once_through_the_outbox(client, app, db_session, rep, gateway,
                                                                         lead):
    login(client, rep)
    response = post_text(client, app, lead, "Hi Mike, 14 trackers at $79 each. Reply STOP to opt out.")
    assert response.status_code == 200
    [message] = messages_of(db_session, lead)
    assert message.status is SmsStatus.QUEUED and message.to_number == CUSTOMER
    assert message.from_number == OUR_NUMBER and message.gateway_id == gateway.id
    job = db_session.scalar(select(OutboxJob).where(OutboxJob.job_key == f"sms-send-{message.id}-0"))
    assert job is not None and job.func == "app.inbox.sms.jobs.send_sms"
    conversation = db_session.get(Conversation, message.conversation_id)
    assert conversation.lead_id == lead.id and conversation.channel.value == "SMS"

    work_all()
    db_session.expire_all()
    assert message.status is SmsStatus.SENT and message.sent_at is not None and message.attempts == 1
    sent = db_session.get(SmsOutboxMessage, message.id)  # our id is the message id
    assert sent.body.startswith("Hi Mike") and sent.to_number == CUSTOMER
    # a second run of the job (at least once delivery) sends nothing more
    from app.inbox.sms.jobs import send_sms
    assert send_sms(str(message.id)) == "not queued"
    assert db_session.scalar(select(func.count()).select_from(SmsOutboxMessage)
                             .where(SmsOutboxMessage.id == message.id)) == 1
    # the panel shows it, with its status
    page = client.get(f"/leads/{lead.id}/thread")
    assert "Hi Mike" in page.text and "Sent" in page.text


def test_a_second_text_reuses_the_leads_conversation(client, app, db_session, rep, gateway, lead):
    login(client, rep)
    assert post_text(client, app, lead, "one").status_code == 200
    assert post_text(client, app, lead, "two").status_code == 200
    ids = {m.conversation_id for m in messages_of(db_session, lead)}
    assert len(ids) == 1
    assert db_session.scalar(select(func.count()).select_from(Conversation)
                             .where(Conversation.lead_id == lead.id)) == 1


@pytest.mark.parametrize("body, message", [("", "Write a message first."), ("   \n ", "Write a message first."),
                                           ("x" * 1531, "Too long: 11 parts"), ("é" * 100 + "😀" * 300, "Too long")])
def test_the_composer_refuses_an_empty_or_too_long_text_with_422(client, app, db_session, rep, gateway, lead,
                                                                 body, message):
    login(client, rep)
    response = post_text(client, app, lead, body)
    assert response.status_code == 422
    assert message in response.text
    assert messages_of(db_session, lead) == []


def test_a_dnc_lead_cannot_be_texted_the_composer_says_why(client, app, db_session, rep, gateway, lead):
    lead.is_dnc = True
    db_session.commit()
    login(client, rep)
    panel = client.get(f"/leads/{lead.id}/thread")
    assert "Do not contact" in panel.text and "disabled" in panel.text
    response = post_text(client, app, lead, "Hello?")
    assert response.status_code == 422 and "Do not contact" in response.text
    assert messages_of(db_session, lead) == []


def test_a_rep_without_a_gateway_is_told_to_add_one(client, app, db_session, rep, lead):
    login(client, rep)
    response = post_text(client, app, lead, "Hello")
    assert response.status_code == 422 and "no SMS gateway" in response.text


def test_dnc_set_after_the_text_was_queued_is_refused_at_send_time(client, app, db_session, rep, gateway, lead):
    login(client, rep)
    assert post_text(client, app, lead, "Still interested?").status_code == 200
    [message] = messages_of(db_session, lead)
    lead.is_dnc = True  # the customer texted STOP in between
    db_session.commit()
    work_all()
    db_session.expire_all()
    assert message.status is SmsStatus.FAILED and message.error == "do not contact"
    assert db_session.get(SmsOutboxMessage, message.id) is None


def test_segments_gsm7_and_ucs2():
    assert (count_segments("a" * 160).segments, count_segments("a" * 161).segments) == (1, 2)
    assert count_segments("a" * 306).segments == 2 and count_segments("a" * 307).segments == 3
    assert count_segments("{" * 80).units == 160  # extension characters take two septets
    assert count_segments("é" * 160).encoding == "GSM-7"  # é is in the GSM alphabet
    assert (count_segments("ç" * 70).encoding, count_segments("ç" * 70).segments) == ("UCS-2", 1)
    assert count_segments("ç" * 71).segments == 2 and count_segments("ç" * 135).segments == 3
    assert count_segments("😀" * 35).segments == 1 and count_segments("😀" * 36).segments == 2


def test_the_segment_counter_is_computed_on_the_server(client, app, db_session, rep):
    login(client, rep)
    response = client.post("/sms/segments", data={"body": "a" * 161, "csrf_token": csrf_token(client, app)})
    assert response.status_code == 200 and "2 parts" in response.text and "GSM-7" in response.text


def test_gateway_passwords_are_encrypted_at_rest(db_session, gateway):
    from app.integrations.secrets import SecretUnreadable, decrypt, encrypt

    stored = db_session.scalar(select(SmsGateway.password_encrypted).where(SmsGateway.id == gateway.id))
    assert stored.startswith("v1:") and "s3cret" not in stored
    assert services.credentials(gateway).password == "s3cret-gateway-pass"
    assert encrypt("x") != encrypt("x")  # a fresh nonce each time
    tampered = stored[:-4] + ("AAAA" if stored[-4:] != "AAAA" else "BBBB")
    with pytest.raises(SecretUnreadable):
        decrypt(tampered)


def test_a_different_secrets_key_cannot_read_them(app, db_session, gateway, monkeypatch):
    from app.integrations.secrets import SecretUnreadable

    monkeypatch.setitem(app.config, "SECRETS_KEY", "another key")
    with pytest.raises(SecretUnreadable):
        services.credentials(gateway)


def test_the_android_backend_sends_with_our_id_and_takes_a_409_as_sent(app, db_session, gateway):
    from app.inbox.sms.backends import AndroidGatewayBackend, GatewayState

    backend = AndroidGatewayBackend()
    message_id = uuid.uuid4()
    with FakeGateway() as fake:
        creds = services.credentials(gateway)
        creds = type(creds)(url=fake.url, username=creds.username, password=creds.password,
                            from_number=creds.from_number)
        assert backend.lookup(creds, message_id) is None  # never sent: 404
        backend.send(creds, message_id=message_id, to=CUSTOMER, text="hello")
        backend.send(creds, message_id=message_id, to=CUSTOMER, text="hello")  # a retry: 409, not an error
        assert fake.accepted == {str(message_id): 1} and fake.posts == {str(message_id): 2}
        assert fake.auth[0].startswith("Basic ")
        assert backend.lookup(creds, message_id).state is GatewayState.ACCEPTED


def test_gateway_settings_a_rep_adds_their_phone_and_sees_it_offline(client, app, db_session, rep, factory):
    login(client, rep)
    response = client.post("/settings/sms-gateways/new", data={
        "label": "My Pixel", "gateway_url": "https://api.sms-gate.app/3rdparty/v1", "username": "u1",
        "password": "pw-123", "from_number": "(408) 555-0121", "user_id": str(rep.id), "is_active": "y",
        "csrf_token": csrf_token(client, app)})
    assert response.status_code == 302
    mine = db_session.scalar(select(SmsGateway).where(SmsGateway.user_id == rep.id))
    assert mine.from_number_e164 == "+14085550121" and mine.password_encrypted.startswith("v1:")
    page = client.get("/settings/sms-gateways")
    assert "My Pixel" in page.text and "Offline" in page.text
    # another rep's phone is not theirs to edit
    other = services.save_gateway(None, user_id=factory.user().id, label="Other", gateway_url="https://x.example/api",
                                  username="o", password="p", from_number="+14085550122", is_active=True)
    assert client.get(f"/settings/sms-gateways/{other.id}").status_code == 403
    assert "Other" not in client.get("/settings/sms-gateways").text


def test_with_texting_switched_off_the_composer_says_so(client, app, db_session, rep, gateway, lead, monkeypatch):
    monkeypatch.setitem(app.config, "SMS_BACKEND", "none")
    login(client, rep)
    assert "Texting is not configured" in client.get(f"/leads/{lead.id}/thread").text
    response = post_text(client, app, lead, "Hello")
    assert response.status_code == 422 and "Texting is not configured" in response.text


def test_a_password_that_no_longer_decrypts_fails_the_text_with_the_reason(client, app, db_session, rep, gateway,
                                                                           lead, monkeypatch):
    login(client, rep)
    assert post_text(client, app, lead, "Hello").status_code == 200
    [message] = messages_of(db_session, lead)
    monkeypatch.setitem(app.config, "SECRETS_KEY", "a rotated key")
    work_all()
    db_session.expire_all()
    assert message.status is SmsStatus.FAILED and "SECRETS_KEY" in message.error
