"""POST /webhooks/sms: the Android SMS Gateway's events, verified as the gateway signs them
(`X-Signature`: hex HMAC-SHA256 of the raw body followed by `X-Timestamp`, Unix seconds,
accepted within ±5 minutes), stored once per envelope id with the job that applies them, 200.
Registered on the webhooks blueprint (CSRF-exempt: the signature authenticates it)."""
from __future__ import annotations

import hashlib
import hmac
import logging
import time

from flask import jsonify, request

from app.extensions import db, limiter
from app.security import WEBHOOK_BODY_LIMIT, body_limit
from app.webhooks import bp
from app.webhooks.responses import not_configured, refuse
from app.webhooks.secrets import WebhookSecretMissing, webhook_secret
from app.webhooks.services import EventRefused, read_event_object, store_event

log = logging.getLogger("crm.webhooks")
TOLERANCE_SECONDS = 300


def sign(raw_body: bytes, timestamp: str, secret: str) -> str:
    """The gateway's signature (PayloadSigningPlugin): also what the dev reply action signs with."""
    return hmac.new(secret.encode(), raw_body + timestamp.encode(), hashlib.sha256).hexdigest()


@bp.post("/sms")
@limiter.exempt
@body_limit(WEBHOOK_BODY_LIMIT)
def sms_webhook():
    raw = request.get_data(cache=False)
    try:
        secret = webhook_secret("sms")
    except WebhookSecretMissing as exc:
        return not_configured("sms", exc)
    signature = request.headers.get("X-Signature", "")
    stamp = request.headers.get("X-Timestamp", "")
    if not stamp.isdigit() or abs(time.time() - int(stamp)) > TOLERANCE_SECONDS:
        return refuse("sms", "timestamp outside the tolerance")
    if not hmac.compare_digest(sign(raw, stamp, secret).encode(), signature.strip().lower().encode("utf-8", "replace")):
        return refuse("sms", "bad signature")
    try:
        text, envelope = read_event_object(raw)
    except EventRefused as exc:
        return refuse("sms", str(exc))
    event_id, event_type = envelope.get("id"), envelope.get("event")
    if not isinstance(event_id, str) or not event_id or not isinstance(event_type, str):
        return refuse("sms", "not an event")
    stored = store_event("sms", event_id=event_id, event_type=event_type, payload=envelope,
                         raw_body=text, signature_header=f"{stamp}:{signature}")
    db.session.commit()
    return jsonify({"received": True, "duplicate": stored.duplicate, "requeued": stored.requeued}), 200
