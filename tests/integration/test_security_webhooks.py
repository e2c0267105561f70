"""Issue 9, security 8: the Stripe webhook allows the signature's timestamp only within
Stripe's tolerance either way, and a body that is no event object (a JSON array, a NUL
inside a string) is a 400 with nothing stored, never a 500."""
from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from app.integrations.sandbox_checkout import stripe_signature
from app.webhooks.models import WebhookEvent
from tests.integration.test_stripe_webhook import SECRET

EVENT = b'{"id":"evt_sec_%s","object":"event","type":"payment_intent.succeeded","data":{"object":{}}}'


@pytest.fixture
def secret(app, monkeypatch):
    monkeypatch.setitem(app.config, "STRIPE_WEBHOOK_SECRET", SECRET)
    return SECRET


def stored(db_session) -> int:
    return db_session.scalar(select(func.count()).select_from(WebhookEvent))


def deliver(client, body: bytes, timestamp: int | None = None):
    return client.post("/webhooks/stripe", data=body, headers={
        "Stripe-Signature": stripe_signature(body, SECRET, timestamp), "Content-Type": "application/json"})


@pytest.mark.parametrize("offset, status", [(-299, 200), (299, 200), (-301, 400), (301, 400),
                                            (3600 * 24 * 365, 400)])
def test_the_timestamp_tolerance_holds_both_ways(client, db_session, secret, offset, status):
    before = stored(db_session)
    body = EVENT % str(offset).encode()
    response = deliver(client, body, int(time.time()) + offset)
    assert response.status_code == status
    assert stored(db_session) == before + (1 if status == 200 else 0)


@pytest.mark.parametrize("body", [
    b"[]",
    b'[{"id":"evt_in_array","type":"payment_intent.succeeded"}]',
    b'"evt_just_a_string"',
    b"null",
    b'{"id":"evt_nul\\u0000","type":"payment_intent.succeeded","data":{"object":{}}}',
    b'{"id":"evt_nul_inside","type":"x","data":{"object":{"metadata":{"invoice_id":"a\\u0000b"}}}}',
    b'{"id":"evt_nul_key","type":"x","data":{"object":{"k\\u0000":1}}}',
    b'{"id":["evt_list"],"type":"x"}',
    b'{"id":"evt_type","type":{"a":1}}',
    b"\xff\xfe not utf-8",
    b'{"id": "evt_trunc"',
])
def test_bodies_that_are_no_event_are_400_and_store_nothing(client, db_session, secret, body):
    before = stored(db_session)
    response = deliver(client, body)
    assert response.status_code == 400
    assert stored(db_session) == before
