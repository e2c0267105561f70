"""POST /webhooks/calcom: the signature (X-Cal-Signature-256, hex HMAC-SHA256 of the raw body),
what is refused (400, nothing stored), the development and production secrets, storing an
event once with its job, duplicate deliveries."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from app.inbox.models import Booking
from app.job_outbox.models import OutboxJob
from app.webhooks.models import WebhookEvent
from app.webhooks.secrets import DEVELOPMENT_SECRETS
from tests.integration.inbox.bookings.calcom import (
    SECRET,
    UID_A,
    encode,
    post,
    signature,
    story,
    work_all,
)
from tests.integration.security_env import production_app


def stored(db_session) -> int:
    return db_session.scalar(select(func.count()).select_from(WebhookEvent).where(WebhookEvent.provider == "calcom"))


def bookings(db_session) -> int:
    return db_session.scalar(select(func.count()).select_from(Booking))


def test_a_signed_event_is_stored_once_with_its_job_and_answered_200(client, db_session, secret):
    envelope = story("nobody@example.com")["created"]
    body = encode(envelope)
    response = post(client, body)
    assert response.status_code == 200
    assert response.get_json() == {"received": True, "duplicate": False, "requeued": False}
    event = db_session.scalar(select(WebhookEvent).where(WebhookEvent.provider == "calcom"))
    assert event.event_type == "BOOKING_CREATED" and event.raw_body == body.decode()
    assert event.provider_event_id.startswith(f"BOOKING_CREATED:{UID_A}:")
    assert event.processed_at is None  # applied by the job, not in the request
    job = db_session.scalar(select(OutboxJob).where(OutboxJob.job_key == f"webhook-calcom-{event.id}"))
    assert job is not None and job.func == "app.inbox.bookings.jobs.apply_calcom_event"
    assert bookings(db_session) == 0
    work_all()
    db_session.refresh(event)
    assert event.processed_at is not None and event.error is None
    assert bookings(db_session) == 1


def test_a_duplicate_delivery_is_acknowledged_and_applied_once(client, db_session, secret):
    envelope = story("dup@example.com")["created"]
    assert post(client, envelope).get_json() == {"received": True, "duplicate": False, "requeued": False}
    # not processed yet: the redelivery asks for its (one) job again
    assert post(client, envelope).get_json() == {"received": True, "duplicate": True, "requeued": True}
    work_all()
    work_all()
    assert post(client, envelope).get_json() == {"received": True, "duplicate": True, "requeued": False}
    work_all()
    assert stored(db_session) == 1
    assert bookings(db_session) == 1


@pytest.mark.parametrize("header", [
    None,  # missing
    "",
    "no-secret-provided",  # what Cal.com sends when its webhook has no secret
    "0" * 64,
    "not hex at all",
    "é" * 64,  # not ASCII: refused, never a 500
])
def test_a_missing_or_wrong_signature_is_400_and_stores_nothing(client, db_session, secret, header):
    body = encode(story("x@example.com")["created"])
    headers = {"Content-Type": "application/json"}
    if header is not None:
        headers["X-Cal-Signature-256"] = header
    response = client.post("/webhooks/calcom", data=body, headers=headers)
    assert response.status_code == 400
    assert stored(db_session) == 0


def test_a_body_signed_with_another_secret_or_changed_is_refused(client, db_session, secret):
    body = encode(story("x@example.com")["created"])
    assert post(client, body, secret="another-secret").status_code == 400
    reserialized = json.dumps(json.loads(body), indent=2).encode()  # same JSON, other bytes
    assert post(client, reserialized, header=signature(body)).status_code == 400
    assert post(client, body, header=signature(body).upper()).status_code == 200  # hex, any case
    assert stored(db_session) == 1


@pytest.mark.parametrize("body", [
    b"[]",
    b'"BOOKING_CREATED"',
    b"null",
    b'{"triggerEvent":"BOOKING_CREATED"}',
    b'{"triggerEvent":"BOOKING_CREATED","payload":[]}',
    b'{"triggerEvent":["BOOKING_CREATED"],"payload":{}}',
    b'{"triggerEvent":"","payload":{"uid":"x"}}',
    b'{"triggerEvent":"BOOKING_CREATED","payload":{"uid":"a\\u0000b"}}',
    b"\xff\xfe not utf-8",
    b'{"triggerEvent": "BOOKING_CREATED"',
])
def test_signed_bodies_that_are_no_event_are_400_and_store_nothing(client, db_session, secret, body):
    assert post(client, body).status_code == 400
    assert stored(db_session) == 0


def test_development_signs_with_its_default_secret_when_none_is_set(app, client, db_session, monkeypatch):
    monkeypatch.setitem(app.config, "CALCOM_WEBHOOK_SECRET", "")
    body = encode(story("dev@example.com")["created"])
    assert post(client, body, secret=DEVELOPMENT_SECRETS["calcom"]).status_code == 200
    assert stored(db_session) == 1


def test_production_without_a_secret_refuses_every_delivery(app, redis_url, monkeypatch, db_session):
    prod = production_app(app, redis_url, monkeypatch)
    assert not prod.config["CALCOM_WEBHOOK_SECRET"]
    body = encode(story("prod@example.com")["created"])
    client = prod.test_client()
    for secret_used in (DEVELOPMENT_SECRETS["calcom"], ""):  # the development default is no key here
        response = post(client, body, secret=secret_used)
        assert response.status_code == 400
    assert post(client, body, header="no-secret-provided").status_code == 400
    assert stored(db_session) == 0


def test_production_with_its_secret_takes_a_signed_event(app, redis_url, monkeypatch, db_session):
    monkeypatch.setenv("CALCOM_WEBHOOK_SECRET", SECRET)
    prod = production_app(app, redis_url, monkeypatch)
    body = encode(story("prod@example.com")["created"])
    client = prod.test_client()
    assert post(client, body, secret=DEVELOPMENT_SECRETS["calcom"]).status_code == 400
    assert post(client, body).status_code == 200
    assert stored(db_session) == 1


def test_a_body_over_the_webhook_limit_is_413(client, db_session, secret):
    body = encode({"triggerEvent": "BOOKING_CREATED", "payload": {"uid": "big", "x": "y" * (1024 * 1024)}})
    assert post(client, body).status_code == 413
    assert stored(db_session) == 0


def test_a_stored_event_nobody_applied_is_asked_for_again_by_the_sweep(db_session, secret):
    """An event stored without its job running (a lost job) is applied after the once-a-minute
    sweep asks for it again."""
    from datetime import UTC, datetime, timedelta

    from app.webhooks.jobs import sweep_unprocessed_events

    envelope = story("swept@example.com")["created"]
    body = encode(envelope)
    event = WebhookEvent(provider="calcom", provider_event_id="BOOKING_CREATED:swept:1", event_type="BOOKING_CREATED",
                         payload=envelope, raw_body=body.decode(), signature_header=signature(body),
                         received_at=datetime.now(UTC) - timedelta(minutes=2))
    db_session.add(event)
    db_session.flush()
    assert sweep_unprocessed_events() >= 1
    assert db_session.scalar(select(OutboxJob).where(OutboxJob.job_key == f"webhook-calcom-{event.id}"))
    db_session.commit()
    work_all()
    db_session.refresh(event)
    assert event.processed_at is not None
    assert bookings(db_session) == 1
