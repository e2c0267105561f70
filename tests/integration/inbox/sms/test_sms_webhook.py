"""POST /webhooks/sms with the gateway's sample events: the signature (good, bad, stale,
missing secret in production), stored once and applied by a job; inbound texts deduplicated
by their content id (the gateway re-delivers with new envelope ids), matched to the contact
by number or Unmatched; statuses that never go backwards; STOP / START; lastSeenAt."""
from __future__ import annotations

import copy
import json
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.activity.models import Activity
from app.inbox.models import Conversation, MessageDirection, SmsGateway, SmsMessage, SmsStatus
from app.inbox.sms.dev_reply import reply_event, signed
from app.webhooks.models import WebhookEvent
from tests.factories import csrf_token, login
from tests.integration.inbox.sms.conftest import CUSTOMER, OUR_NUMBER
from tests.integration.test_payments import work_all

SECRET = "sms-webhook-test-secret"
SAMPLES = Path(__file__).resolve().parents[3] / "samples" / "sms-gateway"


def sample(name: str, **payload) -> dict:
    event = json.loads((SAMPLES / f"{name}.json").read_text())
    event["id"] = uuid.uuid4().hex[:21]  # a fresh envelope per delivery, as the gateway retries
    event["payload"].update(payload)
    return event


@pytest.fixture
def secret(app, monkeypatch):
    monkeypatch.setitem(app.config, "SMS_WEBHOOK_SECRET", SECRET)
    return SECRET


def deliver(client, event: dict, *, secret: str = SECRET, timestamp: int | None = None, signature=None):
    body, headers = signed(event, secret, timestamp)
    if signature is not None:
        headers["X-Signature"] = signature
    return client.post("/webhooks/sms", data=body, headers=headers)


def stored(db_session) -> int:
    return db_session.scalar(select(func.count()).select_from(WebhookEvent).where(WebhookEvent.provider == "sms"))


def apply_all(db_session):
    db_session.commit()
    work_all()
    db_session.expire_all()


def inbound(db_session):
    return db_session.scalars(select(SmsMessage).where(SmsMessage.direction == MessageDirection.INBOUND)
                              .order_by(SmsMessage.created_at)).all()


# --- the signature --------------------------------------------------------------------------

def test_a_signed_sample_is_stored_and_applied(client, db_session, secret, gateway, lead):
    response = deliver(client, sample("sms-received"))
    assert response.status_code == 200 and response.json == {"received": True, "duplicate": False,
                                                              "requeued": False}
    assert stored(db_session) == 1
    apply_all(db_session)
    [text] = inbound(db_session)
    assert text.body.startswith("Hey Jordan") and text.lead_id == lead.id and text.from_number == CUSTOMER
    conversation = db_session.get(Conversation, text.conversation_id)
    assert conversation.lead_id == lead.id and conversation.unread_count == 1
    assert db_session.scalar(select(Activity).where(Activity.lead_id == lead.id,
                                                    Activity.activity_type == "sms.received")) is not None
    assert db_session.get(SmsGateway, gateway.id).last_seen_at is not None


@pytest.mark.parametrize("change", ["bad signature", "other secret", "stale", "future", "no timestamp",
                                    "tampered body"])
def test_bad_signatures_and_stale_timestamps_are_400_and_store_nothing(client, db_session, secret, change):
    event = sample("sms-received")
    if change == "bad signature":
        response = deliver(client, event, signature="0" * 64)
    elif change == "other secret":
        response = deliver(client, event, secret="not-the-secret")
    elif change == "stale":
        response = deliver(client, event, timestamp=int(time.time()) - 301)
    elif change == "future":
        response = deliver(client, event, timestamp=int(time.time()) + 301)
    elif change == "no timestamp":
        body, headers = signed(event, SECRET)
        del headers["X-Timestamp"]
        response = client.post("/webhooks/sms", data=body, headers=headers)
    else:
        body, headers = signed(event, SECRET)
        response = client.post("/webhooks/sms", data=body.replace(b"Jordan", b"Jordon"), headers=headers)
    assert response.status_code == 400
    assert stored(db_session) == 0


def test_within_five_minutes_either_way_is_accepted(client, db_session, secret):
    assert deliver(client, sample("sms-received"), timestamp=int(time.time()) - 290).status_code == 200
    assert deliver(client, sample("sms-received"), timestamp=int(time.time()) + 290).status_code == 200


def test_production_without_the_secret_refuses_and_stores_nothing(app, redis_url, db_session, monkeypatch):
    from app.webhooks.secrets import DEVELOPMENT_SECRETS
    from tests.integration.security_env import production_app

    monkeypatch.delenv("SMS_WEBHOOK_SECRET", raising=False)
    prod = production_app(app, redis_url, monkeypatch)
    assert prod.config["ENV"] == "production" and not prod.config["SMS_WEBHOOK_SECRET"]
    # even signed with the development secret: production has no fallback
    response = deliver(prod.test_client(), sample("sms-received"), secret=DEVELOPMENT_SECRETS["sms"])
    assert response.status_code == 400
    assert stored(db_session) == 0


def test_production_config_requires_the_sms_webhook_secret_for_the_gateway_backend():
    from app.config import production_problems

    config = {"SECRET_KEY": "k", "SECRETS_KEY": "k", "APP_BASE_URL": "https://crm.example.com",
              "MAIL_BACKEND": "smtp", "SMTP_HOST": "smtp", "MAIL_FROM": "a@b.c", "PAYMENTS_BACKEND": "stripe",
              "STRIPE_SECRET_KEY": "k", "STRIPE_WEBHOOK_SECRET": "k", "SESSION_COOKIE_SECURE": True,
              "SMS_BACKEND": "android_sms_gateway"}
    assert "SMS_BACKEND=android_sms_gateway needs SMS_WEBHOOK_SECRET" in production_problems(config)
    assert production_problems({**config, "SMS_WEBHOOK_SECRET": "s"}) == []
    assert any("outbox" in p for p in production_problems({**config, "SMS_BACKEND": "outbox"}))


# --- duplicates and disorder ----------------------------------------------------------------

def test_an_inbound_text_redelivered_with_new_envelope_ids_is_stored_once(client, db_session, secret, gateway, lead):
    first = sample("sms-received")
    again = copy.deepcopy(first)
    again["id"] = "a-new-envelope-id"  # the gateway's retry (#310): new envelope, same content id
    assert deliver(client, first).status_code == 200
    assert deliver(client, again).status_code == 200
    same_envelope = deliver(client, first)
    assert same_envelope.json["duplicate"] is True
    assert stored(db_session) == 2
    apply_all(db_session)
    assert len(inbound(db_session)) == 1
    conversation = db_session.scalar(select(Conversation).where(Conversation.lead_id == lead.id))
    assert conversation.unread_count == 1


def test_a_text_from_an_unknown_number_lands_unmatched_in_one_conversation(client, db_session, secret, gateway):
    stranger = "+13125550199"
    deliver(client, sample("sms-received", sender=stranger, phoneNumber=stranger, messageId="aaaa1111"))
    deliver(client, sample("sms-received", sender=stranger, phoneNumber=stranger, messageId="bbbb2222",
                           message="hello again"))
    apply_all(db_session)
    texts = inbound(db_session)
    assert len(texts) == 2 and all(t.lead_id is None for t in texts)
    assert len({t.conversation_id for t in texts}) == 1
    conversation = db_session.get(Conversation, texts[0].conversation_id)
    assert conversation.lead_id is None and conversation.unread_count == 2


def outbound(db_session, lead, rep, gateway, status=SmsStatus.SENDING) -> SmsMessage:
    message = SmsMessage(id=uuid.uuid4(), lead_id=lead.id, contact_id=lead.contact_id,
                         direction=MessageDirection.OUTBOUND, from_number=OUR_NUMBER, to_number=CUSTOMER,
                         body="Pricing for 14 trucks", status=status, gateway_id=gateway.id, attempts=1)
    db_session.add(message)
    db_session.commit()
    return message


@pytest.mark.parametrize("order", [
    ["sms-sent", "sms-delivered", "sms-delivered"],
    ["sms-delivered", "sms-sent", "sms-delivered"],  # a part's delivery before the sent event
    ["sms-delivered", "sms-delivered", "sms-sent", "sms-sent"],
])
def test_statuses_never_go_backwards(client, db_session, secret, rep, gateway, lead, order):
    message = outbound(db_session, lead, rep, gateway)
    for name in order:
        assert deliver(client, sample(name, messageId=str(message.id))).status_code == 200
        apply_all(db_session)
    assert message.status is SmsStatus.DELIVERED and message.sent_at is not None
    # the text counts as sent once on the timeline, whatever the order
    assert db_session.scalar(select(func.count()).select_from(Activity).where(
        Activity.lead_id == lead.id, Activity.activity_type == "sms.sent")) == 1


def test_a_failure_is_recorded_with_its_reason_but_does_not_undo_a_delivery(client, db_session, secret, rep,
                                                                            gateway, lead):
    failing = outbound(db_session, lead, rep, gateway, status=SmsStatus.SENT)
    deliver(client, sample("sms-failed", messageId=str(failing.id)))
    deliver(client, sample("sms-sent", messageId=str(failing.id)))
    apply_all(db_session)
    assert failing.status is SmsStatus.FAILED and failing.error == "RESULT_ERROR_GENERIC_FAILURE"
    delivered = outbound(db_session, lead, rep, gateway, status=SmsStatus.SENT)
    deliver(client, sample("sms-delivered", messageId=str(delivered.id)))
    apply_all(db_session)
    deliver(client, sample("sms-failed", messageId=str(delivered.id)))
    apply_all(db_session)
    assert delivered.status is SmsStatus.DELIVERED


def test_a_status_for_an_unknown_id_is_stored_and_ignored(client, db_session, secret):
    assert deliver(client, sample("sms-sent")).status_code == 200  # the sample's id is not ours
    apply_all(db_session)
    event = db_session.scalar(select(WebhookEvent).where(WebhookEvent.provider == "sms"))
    assert event.processed_at is not None


# --- STOP and START -------------------------------------------------------------------------

@pytest.mark.parametrize("word", ["STOP", "stop", "  Stop  ", "STOPALL", "unsubscribe", "Cancel", "END", "quit",
                                  "Stop."])
def test_stop_words_make_the_lead_do_not_contact(client, db_session, secret, gateway, lead, word):
    deliver(client, sample("sms-received", message=word, messageId=f"stop-{word.strip()}"))
    apply_all(db_session)
    assert lead.is_dnc is True and lead.contact.is_sms_eligible is False
    assert db_session.scalar(select(Activity).where(Activity.lead_id == lead.id,
                                                    Activity.activity_type == "contact.dnc")) is not None


@pytest.mark.parametrize("text", ["Please stop by tomorrow", "STOP!!! no wait", "stopping by"])
def test_a_sentence_with_stop_in_it_is_not_an_opt_out(client, db_session, secret, gateway, lead, text):
    deliver(client, sample("sms-received", message=text, messageId="sentence"))
    apply_all(db_session)
    assert lead.is_dnc is False and lead.contact.is_sms_eligible is True


def test_start_resubscribes_and_is_recorded(client, app, db_session, secret, rep, gateway, lead):
    deliver(client, sample("sms-received", message="STOP", messageId="m-stop"))
    apply_all(db_session)
    login(client, rep)
    panel = client.get(f"/leads/{lead.id}/thread")
    assert "Do not contact" in panel.text
    deliver(client, sample("sms-received", message="Start", messageId="m-start"))
    apply_all(db_session)
    assert lead.is_dnc is False and lead.contact.is_sms_eligible is True
    assert db_session.scalar(select(Activity).where(Activity.lead_id == lead.id,
                                                    Activity.activity_type == "contact.resubscribed")) is not None
    response = client.post(f"/leads/{lead.id}/sms", data={"body": "Welcome back", "csrf_token": csrf_token(client, app)})
    assert response.status_code == 200


# --- lastSeenAt and the development reply ----------------------------------------------------

def test_every_event_moves_last_seen_and_an_hour_of_silence_is_offline(client, db_session, secret, gateway, rep,
                                                                       lead):
    from datetime import UTC, datetime, timedelta

    from app.inbox.sms.services import gateway_offline

    assert gateway_offline(gateway)
    message = outbound(db_session, lead, rep, gateway)
    deliver(client, sample("sms-sent", messageId=str(message.id)))
    apply_all(db_session)
    seen = db_session.get(SmsGateway, gateway.id).last_seen_at
    assert seen is not None and not gateway_offline(gateway)
    assert gateway_offline(gateway, now=seen + timedelta(hours=1, seconds=1))
    assert not gateway_offline(gateway, now=datetime.now(UTC) + timedelta(minutes=59))


def test_the_dev_reply_is_a_signed_event_through_the_real_path(client, app, db_session, rep, gateway, lead):
    """What "reply as the customer" posts (signed with the development secret) is accepted by
    the webhook and lands on the lead; a STOP reply makes the lead un-textable."""
    from app.webhooks.secrets import webhook_secret

    login(client, rep)
    client.post(f"/leads/{lead.id}/sms", data={"body": "Hi", "csrf_token": csrf_token(client, app)})
    apply_all(db_session)
    from app.inbox.sms.models import SmsOutboxMessage

    sent = db_session.scalar(select(SmsOutboxMessage))
    response = client.post(f"/outbox/sms/{sent.id}/reply", data={"body": "STOP",
                                                                "csrf_token": csrf_token(client, app)})
    assert response.status_code == 302
    from app.job_outbox.models import OutboxJob

    job = db_session.scalar(select(OutboxJob).where(OutboxJob.func == "app.inbox.sms.dev_reply.deliver_reply"))
    url, event = job.args["args"]
    assert url.endswith("/webhooks/sms") and event["payload"]["sender"] == CUSTOMER
    body, headers = signed(event, webhook_secret("sms"))
    assert client.post("/webhooks/sms", data=body, headers=headers).status_code == 200
    apply_all(db_session)
    assert lead.is_dnc is True
    assert reply_event(customer=CUSTOMER, our_number=OUR_NUMBER, text="x")["event"] == "sms:received"


def test_the_dev_reply_action_is_absent_in_production(app, redis_url, db_session, monkeypatch):
    from tests.integration.security_env import production_app

    prod = production_app(app, redis_url, monkeypatch)
    rules = {r.rule for r in prod.url_map.iter_rules()}
    assert "/webhooks/sms" in rules
    assert not any(r.startswith("/outbox") for r in rules)
