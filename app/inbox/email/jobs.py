"""E-mail jobs (queue "mail"): ids in, each e-mail sent exactly once, commit.

`send_email`: claim the row (QUEUED -> SENDING, committed before the mail backend is called),
refuse a do-not-contact lead at send time, send with the row's own Message-ID (from the rep's
Gmail or SMTP account, or the system sender: outbound.py), record SENT / FAILED. A worker
killed after the claim leaves the row SENDING: the one sweep of every channel
(`app.inbox.sending.sweep_stuck_sends`, run by the job outbox relay once a minute) asks
`outbound.reconcile` to settle it — Gmail's Sent is searched for the
Message-ID, the outbox backend is looked up by it; SMTP has no lookup, so the row is FAILED
"unknown — check Sent" for a person — never a blind resend. A temporary failure puts the row back to QUEUED and RQ
retries; the last attempt or a permanent refusal marks it FAILED with the server's reason."""
from __future__ import annotations

import logging

from app.inbox.sending import claim, send_claimed

log = logging.getLogger("crm.email")


def send_email(email_id: str) -> str:
    from app.inbox.email import outbound, services
    from app.inbox.models import EmailStatus
    from app.integrations.mail import DeliveryFailed

    claimed, outcome = claim(services, EmailStatus, email_id, "email")
    if claimed is None:
        return outcome
    return send_claimed(claimed.id, statuses=EmailStatus, settle=services.settle, failure=DeliveryFailed,
                        send=outbound.transport(claimed.id), on_sent=services.record_sent_activity)
