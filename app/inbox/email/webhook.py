"""POST /webhooks/gmail: Gmail's Pub/Sub push (users.watch). The push subscription's endpoint
carries the shared secret (`?token=<GMAIL_PUSH_SECRET>`, compared in constant time); the
notification (base64 JSON `{"emailAddress", "historyId"}`) is stored once per Pub/Sub
`messageId` with the job that asks for the mailbox's sync, and acknowledged (200) at once —
a push says only "something changed"; the sync (app.inbox.email.sync) fetches what."""
from __future__ import annotations

import hmac
import logging

from flask import jsonify, request

from app.extensions import db, limiter
from app.inbox.email.sync_jobs import push_notification
from app.security import WEBHOOK_BODY_LIMIT, body_limit
from app.webhooks import bp
from app.webhooks.responses import not_configured, refuse
from app.webhooks.secrets import WebhookSecretMissing, webhook_secret
from app.webhooks.services import EventRefused, read_event_object, store_event

log = logging.getLogger("crm.webhooks")


@bp.post("/gmail")
@limiter.exempt
@body_limit(WEBHOOK_BODY_LIMIT)
def gmail_webhook():
    raw = request.get_data(cache=False)
    try:
        secret = webhook_secret("gmail")
    except WebhookSecretMissing as exc:
        return not_configured("gmail", exc)
    token = request.args.get("token", "")
    if not hmac.compare_digest(secret.encode(), token.encode("utf-8", "replace")):
        return refuse("gmail", "bad token")
    try:
        text, envelope = read_event_object(raw)
    except EventRefused as exc:
        return refuse("gmail", str(exc))
    message = envelope.get("message")
    event_id = message.get("messageId") if isinstance(message, dict) else None
    if not isinstance(event_id, str) or not event_id or not push_notification(envelope).get("emailAddress"):
        return refuse("gmail", "not a Gmail notification")
    stored = store_event("gmail", event_id=event_id, event_type="gmail.push", payload=envelope, raw_body=text,
                         signature_header=None)
    db.session.commit()
    return jsonify({"received": True, "duplicate": stored.duplicate, "requeued": stored.requeued}), 200
