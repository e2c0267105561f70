"""POST /webhooks/stripe: Stripe-Signature verified on the raw body, stored once, 200."""
from __future__ import annotations

import json
import logging

import stripe
from flask import jsonify, request

from app.extensions import db, limiter
from app.integrations.payments import webhook_secret
from app.webhooks import bp
from app.webhooks.services import store_event

log = logging.getLogger("crm.webhooks")
TOLERANCE_SECONDS = 300


def _refuse(reason: str):
    log.info("webhook refused provider=stripe reason=%s", reason)
    return jsonify({"error": reason}), 400


@bp.post("/stripe")
@limiter.exempt
def stripe_webhook():
    raw = request.get_data(cache=False)
    header = request.headers.get("Stripe-Signature")
    try:
        # Verifies v1 = HMAC-SHA256(secret, "<t>.<raw body>") and |now - t| <= tolerance.
        stripe.Webhook.construct_event(raw, header, webhook_secret(), tolerance=TOLERANCE_SECONDS)
    except stripe.SignatureVerificationError:
        return _refuse("bad signature")
    except (ValueError, UnicodeDecodeError):
        return _refuse("unreadable body")
    try:
        text = raw.decode("utf-8")
        payload = json.loads(text)
        event_id, event_type = payload["id"], payload.get("type")
    except (ValueError, KeyError, TypeError):
        return _refuse("not an event")
    if not isinstance(event_id, str) or not event_id:
        return _refuse("not an event")
    stored = store_event("stripe", event_id=event_id, event_type=event_type, payload=payload,
                         raw_body=text, signature_header=header)
    db.session.commit()
    return jsonify({"received": True, "duplicate": stored is None}), 200
