"""Development only: "reply as the customer" to an e-mail of the outbox mail backend, fed
through the same ingest service a real mailbox would use (ingest_inbound_email), threaded by
In-Reply-To / References like a mail client's answer."""
from __future__ import annotations

import uuid

from app.inbox.email.services import ingest_inbound_email
from app.inbox.models import EmailMessage


def reply_as_customer(ours: EmailMessage, body: str) -> str:
    subject = ours.subject or ""
    domain = (ours.to_address.rpartition("@")[2] or "customer.invalid").strip("> ")
    references = " ".join(filter(None, [ours.references, ours.message_id]))
    return ingest_inbound_email(ours.to_address, ours.from_address,
                                subject if subject.lower().startswith("re:") else f"Re: {subject}", body,
                                f"<{uuid.uuid4()}@{domain}>", in_reply_to=ours.message_id, references=references)
