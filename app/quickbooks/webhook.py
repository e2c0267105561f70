"""POST /webhooks/quickbooks: Intuit's data-change notifications.

`intuit-signature` is the base64 HMAC-SHA256 of the raw body with the app's verifier token
(webhook_secret("quickbooks"): QBO_WEBHOOK_VERIFIER; none in production → every delivery is
refused). The event is stored once (its id: the body's SHA-256: Intuit sends no event id, and
a redelivery is the same bytes) with the job that applies it; nothing else happens here.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import logging

from flask import jsonify, request

from app.extensions import csrf, db, limiter
from app.quickbooks import bp
from app.security import WEBHOOK_BODY_LIMIT, body_limit
from app.webhooks.responses import not_configured, refuse
from app.webhooks.secrets import WebhookSecretMissing, webhook_secret
from app.webhooks.services import EventRefused, read_event_object, store_event

log = logging.getLogger("crm.webhooks")
SIGNATURE_HEADER = "intuit-signature"


def intuit_signature(body: bytes, verifier: str) -> str:
    return base64.b64encode(hmac.new(verifier.encode(), body, hashlib.sha256).digest()).decode()


@bp.post("/webhooks/quickbooks")
@csrf.exempt
@limiter.exempt
@body_limit(WEBHOOK_BODY_LIMIT)
def quickbooks_webhook():
    raw = request.get_data(cache=False)
    try:
        verifier = webhook_secret("quickbooks")
    except WebhookSecretMissing as exc:
        return not_configured("quickbooks", exc)
    header = (request.headers.get(SIGNATURE_HEADER) or "").strip()
    if not header:
        return refuse("quickbooks", "no signature")
    if not hmac.compare_digest(intuit_signature(raw, verifier).encode(), header.encode("utf-8", "replace")):
        return refuse("quickbooks", "bad signature")
    try:
        text, payload = read_event_object(raw)
    except EventRefused as exc:
        return refuse("quickbooks", str(exc))
    if not isinstance(payload.get("eventNotifications"), list):
        return refuse("quickbooks", "not an event")
    stored = store_event("quickbooks", event_id=hashlib.sha256(raw).hexdigest(), event_type="dataChange",
                         payload=payload, raw_body=text, signature_header=header[:200])
    db.session.commit()
    return jsonify({"received": True, "duplicate": stored.duplicate, "requeued": stored.requeued}), 200
