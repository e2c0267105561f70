"""Billing jobs (queue "billing", and "mail" for e-mails): ids in, idempotent, commit."""
from __future__ import annotations

from app.billing.models import Invoice
from app.billing.sending import invoice_email
from app.billing.stripe_events import apply_stripe_event as apply
from app.extensions import db
from app.integrations.mail import get_mail_backend


def apply_stripe_event(webhook_event_id: str) -> str:
    """Apply one stored Stripe event (see app.billing.stripe_events)."""
    return apply(webhook_event_id)


def send_invoice_email(invoice_id: str, link: str, to: str, message_key: str) -> None:
    """E-mail the invoice's public link through the configured mail backend. The
    outbox backend stores a message_key once, so a re-run sends nothing new."""
    invoice = db.session.get(Invoice, invoice_id)
    if invoice is None:
        return
    get_mail_backend().send(invoice_email(invoice, link=link, to=to, message_key=message_key))
    db.session.commit()
