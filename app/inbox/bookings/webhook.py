"""POST /webhooks/calcom: `X-Cal-Signature-256` (hex HMAC-SHA256 of the raw body with the
Cal.com webhook secret) verified, the event stored once with the job that applies it, 200.
Nothing else happens in the request (see docs/architecture.md, "Webhooks").

Cal.com sends no event id and no timestamp. The stored event's id is
`<triggerEvent>:<payload uid>:<sha256 of the raw body>`: a redelivery of an event is the same
bytes (the same signature), so it hits the unique (provider, provider_event_id) and is stored
once; the trigger and uid keep the id readable. Cal.com re-serialising one event into other
bytes would store it twice, which the apply tolerates (an event already applied to the
booking changes nothing: app.inbox.bookings.services)."""
from __future__ import annotations

import hashlib
import hmac
import logging

from flask import jsonify, request

from app.extensions import db, limiter
from app.security import WEBHOOK_BODY_LIMIT, body_limit
from app.webhooks import bp
from app.webhooks.responses import not_configured, refuse
from app.webhooks.secrets import WebhookSecretMissing, webhook_secret
from app.webhooks.services import EventRefused, read_event_object, store_event

log = logging.getLogger("crm.webhooks")
SIGNATURE_HEADER = "X-Cal-Signature-256"
NO_SECRET = "no-secret-provided"  # what Cal.com sends when its webhook has no secret


def calcom_signature(body: bytes, secret: str) -> str:
    """The header Cal.com sends for `body` (sendPayload.ts): hex HMAC-SHA256 of the raw body."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def calcom_event_id(trigger: str, uid: str | None, body: bytes) -> str:
    return f"{trigger}:{uid or '-'}:{hashlib.sha256(body).hexdigest()}"


@bp.post("/calcom")
@limiter.exempt
@body_limit(WEBHOOK_BODY_LIMIT)
def calcom_webhook():
    raw = request.get_data(cache=False)
    header = (request.headers.get(SIGNATURE_HEADER) or "").strip()
    try:
        secret = webhook_secret("calcom")
    except WebhookSecretMissing as exc:
        return not_configured("calcom", exc)
    if not header:
        return refuse("calcom", "no signature")
    if header == NO_SECRET:
        return refuse("calcom", "the Cal.com webhook has no secret")
    # bytes: compare_digest refuses a str with non-ASCII characters (a forged header)
    if not hmac.compare_digest(calcom_signature(raw, secret).encode(), header.lower().encode()):
        return refuse("calcom", "bad signature")
    try:
        text, payload = read_event_object(raw)
    except EventRefused as exc:
        return refuse("calcom", str(exc))
    trigger, booking = payload.get("triggerEvent"), payload.get("payload")
    if not isinstance(trigger, str) or not trigger or not isinstance(booking, dict):
        return refuse("calcom", "not an event")
    uid = booking.get("uid")
    uid = uid if isinstance(uid, str) and uid else None
    stored = store_event("calcom", event_id=calcom_event_id(trigger, uid, raw), event_type=trigger,
                         payload=payload, raw_body=text, signature_header=header)
    db.session.commit()
    return jsonify({"received": True, "duplicate": stored.duplicate, "requeued": stored.requeued}), 200
