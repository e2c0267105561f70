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
    """E-mail the invoice's public link through the configured mail backend, and record
    how it went on the message's delivery row. Idempotent: a delivered message is not sent
    again. A temporary failure (server unreachable, a 4xx reply) raises, so RQ retries;
    a permanent one (a 5xx reply), or any failure of the last attempt, marks the message
    FAILED with the provider's reason (the sharing page, the activity, a task for the
    sender) and ends the job: the failure has reached a person."""
    from app.billing.sending import (
        delivery_for,
        mark_attempt_failed,
        mark_delivered,
        mark_not_delivered,
    )
    from app.integrations.mail import DeliveryFailed
    from app.integrations.models import DeliveryStatus, MailDelivery
    from app.queue import last_attempt

    invoice = db.session.get(Invoice, invoice_id)
    if invoice is None:
        return
    delivery = delivery_for(invoice, to=to, message_key=message_key)
    if delivery.status == DeliveryStatus.SENT.value:
        db.session.commit()
        return  # a re-run: the customer has it already
    delivery_id = delivery.id
    db.session.commit()
    try:
        get_mail_backend().send(invoice_email(invoice, link=link, to=to, message_key=message_key))
    except DeliveryFailed as exc:
        db.session.rollback()
        delivery = db.session.get(MailDelivery, delivery_id)
        if exc.permanent or last_attempt():
            mark_not_delivered(delivery, invoice, exc.reason)
            db.session.commit()
            return
        mark_attempt_failed(delivery, exc.reason)
        db.session.commit()
        raise
    except Exception as exc:
        if last_attempt():  # a bug or the database: still nobody got the e-mail
            db.session.rollback()
            mark_not_delivered(db.session.get(MailDelivery, delivery_id), invoice,
                               f"The e-mail could not be sent ({type(exc).__name__}).")
            db.session.commit()
        raise
    mark_delivered(delivery, invoice)
    db.session.commit()

