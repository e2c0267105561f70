"""POST /webhooks/stripe: Stripe-Signature verified on the raw body, stored once with the job that
applies it (a redelivery of an unprocessed event asks for that job again), 200."""
from __future__ import annotations

import logging
import time

import stripe
from flask import jsonify, request

from app.extensions import db, limiter
from app.security import WEBHOOK_BODY_LIMIT, body_limit
from app.webhooks import bp
from app.webhooks.responses import not_configured, refuse
from app.webhooks.secrets import WebhookSecretMissing, webhook_secret
from app.webhooks.services import EventRefused, read_event_object, store_event

log = logging.getLogger("crm.webhooks")
TOLERANCE_SECONDS = 300  # Stripe's: a signature's timestamp may be this far off, either way


def _signed_at(header: str | None) -> int | None:
    """The `t=` of a Stripe-Signature header (None when there is none or it's no number)."""
    for part in (header or "").split(","):
        key, _, value = part.partition("=")
        if key.strip() == "t":
            try:
                return int(value.strip())
            except ValueError:
                return None
    return None


@bp.post("/stripe")
@limiter.exempt
@body_limit(WEBHOOK_BODY_LIMIT)
def stripe_webhook():
    raw = request.get_data(cache=False)
    header = request.headers.get("Stripe-Signature")
    try:
        secret = webhook_secret("stripe")
    except WebhookSecretMissing as exc:
        return not_configured("stripe", exc)
    try:
        # v1 = HMAC-SHA256(secret, "<t>.<raw body>"); the SDK checks only that t isn't too old.
        stripe.WebhookSignature.verify_header(raw, header, secret, tolerance=TOLERANCE_SECONDS)
    except stripe.SignatureVerificationError:
        return refuse("stripe", "bad signature")
    except UnicodeDecodeError:
        return refuse("stripe", "unreadable body")
    signed_at = _signed_at(header)
    if signed_at is None or abs(time.time() - signed_at) > TOLERANCE_SECONDS:
        return refuse("stripe", "timestamp outside the tolerance")
    try:
        text, payload = read_event_object(raw)
    except EventRefused as exc:
        return refuse("stripe", str(exc))
    event_id, event_type = payload.get("id"), payload.get("type")
    if not isinstance(event_id, str) or not event_id or not isinstance(event_type, (str, type(None))):
        return refuse("stripe", "not an event")
    stored = store_event("stripe", event_id=event_id, event_type=event_type, payload=payload,
                         raw_body=text, signature_header=header)
    db.session.commit()
    return jsonify({"received": True, "duplicate": stored.duplicate, "requeued": stored.requeued}), 200
