"""The Cal.com sample events (tests/samples/calcom, copies of ../shared/samples/calcom) adapted
to a test: the attendee's e-mail, uids, times in the future, and `createdAt` (the order Cal.com
sent them in), signed as Cal.com signs them."""
from __future__ import annotations

import copy
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from rq import SimpleWorker

from app.queue import QUEUES, get_queue, redis_connection

SECRET = "calcom-test-secret-0123456789"
SAMPLES = Path(__file__).resolve().parents[3] / "samples" / "calcom"
UID_A, UID_B = "7xKq2mZpR9vLtB4nWc8yHd", "Qm3vT8rYk2LpX6nZb9WcFa"  # the samples' uids
UID_C = "Zr8pW2nQx5TkLm3Vb7YcHe"  # a second reschedule (not in the samples)


def sample(name: str) -> dict:
    path = SAMPLES / f"booking-{name}.json"
    if not path.exists():
        pytest.fail(f"sample {path} is missing")
    return json.loads(path.read_text())


def soon(days: int, hour: int) -> datetime:
    """A whole hour `days` from today (UTC): meetings in the future."""
    today = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    return today.replace(hour=hour) + timedelta(days=days)


def iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def event(name: str, *, email: str, uid: str, start: datetime, sent: datetime,
          previous: str | None = None, minutes: int = 30, **payload_changes) -> dict:
    """The sample `name` (created, rescheduled, cancelled) for attendee `email`, booking `uid`
    (rescheduled from `previous`) at `start`, sent at `sent`."""
    body = copy.deepcopy(sample(name))
    body["createdAt"] = iso(sent)
    p = body["payload"]
    p["uid"] = uid
    p["startTime"], p["endTime"] = iso(start), iso(start + timedelta(minutes=minutes))
    for attendee in p["attendees"]:
        attendee["email"] = email
    p["responses"]["email"]["value"] = email
    if previous is not None:
        p["rescheduleUid"] = previous
    else:
        p.pop("rescheduleUid", None)
    if "metadata" in p:
        p["metadata"]["videoCallUrl"] = f"https://app.cal.com/video/{uid}"
    p.update(payload_changes)
    return body


def story(email: str, *, now: datetime | None = None) -> dict[str, dict]:
    """A booking's life as the samples tell it: booked (A, in 2 days), moved (A -> B, in 3
    days), moved again (B -> C, in 4 days), and cancelled (B; C)."""
    now = now or datetime.now(UTC)
    return {
        "created": event("created", email=email, uid=UID_A, start=soon(2, 15), sent=now - timedelta(hours=5)),
        "rescheduled": event("rescheduled", email=email, uid=UID_B, previous=UID_A, start=soon(3, 20),
                             sent=now - timedelta(hours=4)),
        "rescheduled_again": event("rescheduled", email=email, uid=UID_C, previous=UID_B, start=soon(4, 17),
                                   sent=now - timedelta(hours=3)),
        "cancelled_b": event("cancelled", email=email, uid=UID_B, start=soon(3, 20), sent=now - timedelta(hours=2)),
        "cancelled_a": event("cancelled", email=email, uid=UID_A, start=soon(2, 15), sent=now - timedelta(hours=2)),
    }


def signature(body: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def encode(envelope: dict) -> bytes:
    return json.dumps(envelope).encode()


def post(client, envelope: dict | bytes, *, secret: str = SECRET, header: str | None = None):
    body = envelope if isinstance(envelope, bytes) else encode(envelope)
    headers = {"Content-Type": "application/json",
               "X-Cal-Signature-256": signature(body, secret) if header is None else header}
    return client.post("/webhooks/calcom", data=body, headers=headers)


def work_all() -> None:
    """Run every queued job in this process (the jobs see the test's session)."""
    SimpleWorker([get_queue(n) for n in QUEUES], connection=redis_connection()).work(burst=True)


def deliver(client, *envelopes: dict) -> None:
    """Each event posted (200) and applied by its job, one after the other."""
    for envelope in envelopes:
        response = post(client, envelope)
        assert response.status_code == 200, response.get_data(as_text=True)
        work_all()
