"""Development only: "reply as the customer" to a text of the outbox backend. The reply is
an `sms:received` event shaped and signed as the Android gateway sends it, posted over HTTP
to our own /webhooks/sms by a job, so it goes through the real ingest path (signature, stored
event, the apply job, the inbox, STOP)."""
from __future__ import annotations

import json
import time
import urllib.request
import uuid
from datetime import UTC, datetime

from app.inbox.sms.webhook import sign
from app.webhooks.secrets import webhook_secret

DEVICE_ID = "dev-outbox-phone"


def reply_event(*, customer: str, our_number: str, text: str) -> dict:
    return {
        "deviceId": DEVICE_ID,
        "event": "sms:received",
        "id": uuid.uuid4().hex[:21],
        "payload": {
            "messageId": uuid.uuid4().hex[:16],
            "message": text,
            "sender": customer,
            "recipient": our_number,
            "phoneNumber": customer,
            "simNumber": 1,
            "receivedAt": datetime.now(UTC).isoformat(timespec="milliseconds"),
        },
        "webhookId": "dev-outbox",
    }


def signed(event: dict, secret: str, timestamp: int | None = None) -> tuple[bytes, dict[str, str]]:
    """The body and headers the gateway would post."""
    body = json.dumps(event, separators=(",", ":")).encode("utf-8")
    stamp = str(int(timestamp if timestamp is not None else time.time()))
    return body, {"Content-Type": "application/json", "X-Timestamp": stamp,
                  "X-Signature": sign(body, stamp, secret)}


def deliver_reply(url: str, event: dict) -> int:
    """The job the reply action enqueues (safe to run twice: one envelope id, one content id)."""
    body, headers = signed(event, webhook_secret("sms"))
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (our own URL)
        return response.status
