"""SMS jobs (queue "sms"): ids in, each text sent exactly once, commit.

`send_sms`: claim the row (QUEUED -> SENDING, committed before the gateway is called), refuse
a do-not-contact number at send time, send with the row's id, record SENT / FAILED. A worker
killed after the claim leaves the row SENDING: the one sweep of every channel
(`app.inbox.sending.sweep_stuck_sends`, run by the job outbox relay once a minute) asks
`services.reconcile` to look the id up at the gateway — never a blind resend. A temporary failure puts the row back to QUEUED and RQ retries; the last attempt or a
permanent refusal marks it FAILED with the gateway's reason (shown in the composer)."""
from __future__ import annotations

import logging
from datetime import UTC, datetime

from app.extensions import db
from app.inbox.sending import claim, send_claimed
from app.webhooks.services import take_stored_event

log = logging.getLogger("crm.sms")


def send_sms(sms_id: str) -> str:
    from app.inbox.models import SmsGateway, SmsStatus
    from app.inbox.sms import services
    from app.inbox.sms.backends import SendFailed, get_sms_backend
    from app.integrations.secrets import SecretUnreadable

    claimed, outcome = claim(services, SmsStatus, sms_id, "sms")
    if claimed is None:
        return outcome
    try:
        gateway = services.credentials(db.session.get(SmsGateway, claimed.gateway_id))
    except SecretUnreadable:
        services.settle(claimed.id, SmsStatus.FAILED,
                        error="the gateway's password cannot be read (was SECRETS_KEY changed?): enter it again")
        db.session.commit()
        return "failed"
    return send_claimed(
        claimed.id, statuses=SmsStatus, settle=services.settle, failure=SendFailed,
        send=lambda: get_sms_backend().send(gateway, message_id=claimed.id, to=claimed.to_number,
                                            text=claimed.body),
        on_sent=services.record_sent_activity)


def apply_sms_event(webhook_event_id: str) -> str:
    """Apply one stored gateway event once (app.inbox.sms.services.apply_event)."""

    from app.inbox.sms.services import apply_event
    event, nothing = take_stored_event(webhook_event_id)
    if event is None:
        return nothing
    outcome = apply_event(event.payload, event.received_at)
    event.processed_at, event.error = datetime.now(UTC), None
    db.session.commit()
    log.info("sms event=%s type=%s outcome=%s", event.provider_event_id, event.event_type, outcome)
    return outcome
