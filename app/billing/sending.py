"""Sending an invoice: its public link /pay/<token> and the e-mail that carries it.

The token is `secrets.token_urlsafe(32)` (256 random bits) and is never stored:
invoices.payment_token holds its SHA-256, so the database alone does not reveal a
usable link. Sending again issues a new token (the old link stops working);
revoking clears it. The e-mail goes out from a job through the mail backend.

Delivery is recorded (integrations.models.MailDelivery, one row per message): SENDING
with the send, SENT once the mail server took it, FAILED with the provider's reason when
it refused the message for good or the last retry failed. A failure is written where
a person sees it: the invoice's sharing page ("Not delivered: ..." and "Send again"),
the activity log, and a task for the rep who sent it (an admin when that rep is gone).
Only a delivered message is called "Sent to ...".
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime

from flask import render_template
from sqlalchemy import select

from app.activity.services import record
from app.billing import events
from app.billing.models import Invoice, InvoiceStatus
from app.billing.payments import ZERO, apply_payments
from app.extensions import db
from app.integrations.mail import MailMessage
from app.integrations.models import DeliveryStatus, MailDelivery
from app.queue import enqueue
from app.urls import absolute_url


class SendRefused(Exception):
    pass


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def invoice_for_token(token: str | None) -> Invoice | None:
    """The invoice a public link opens, or None (unknown, revoked or void: all alike)."""
    if not token or len(token) > 100:
        return None
    invoice = db.session.scalar(select(Invoice).where(Invoice.payment_token == token_hash(token)))
    if invoice is None or invoice.status is InvoiceStatus.VOID:
        return None
    return invoice


def public_url(token: str) -> str:
    return absolute_url("pay.invoice_page", token=token)


def recipient(invoice: Invoice) -> tuple[str | None, str | None]:
    """(e-mail, name) the invoice goes to: the lead's contact, else a company contact."""
    candidates = []
    if invoice.lead is not None and invoice.lead.contact is not None:
        candidates.append(invoice.lead.contact)
    candidates.extend(sorted(invoice.company.contacts, key=lambda c: c.created_at or datetime.min.replace(tzinfo=UTC)))
    for contact in candidates:
        if contact.email:
            return contact.email, contact.full_name or contact.first_name
    return None, None


def issue_link(invoice: Invoice) -> str:
    from app.billing.pay_links import remember_link

    token = secrets.token_urlsafe(32)
    invoice.payment_token = token_hash(token)
    remember_link(invoice, token)  # sealed, for a canned reply's {{ invoice.pay_url }}
    return token


def send_invoice(invoice: Invoice, *, actor, to: str | None = None) -> str:
    """Issue a new public link, mark the invoice sent and e-mail the link (a job).
    Returns the link (shown to the rep once; it is not stored)."""
    if invoice.status is InvoiceStatus.VOID:
        raise SendRefused("This invoice is void: it can't be sent.")
    if not invoice.line_items or (invoice.total or ZERO) <= 0:
        raise SendRefused("Add at least one line before sending the invoice.")
    if to is None:
        to, _ = recipient(invoice)
    if not to:
        raise SendRefused("Nobody to send it to: give the company's contact an e-mail address.")
    token = issue_link(invoice)
    first = invoice.sent_at is None
    invoice.sent_at = invoice.sent_at or datetime.now(UTC)
    apply_payments(invoice)  # DRAFT -> SENT (or PARTIAL/PAID if money came first)
    db.session.flush()
    link = public_url(token)
    key = f"invoice-link-{invoice.id}-{invoice.payment_token[:16]}"
    db.session.add(MailDelivery(message_key=key, to_address=to, invoice_id=invoice.id,
                                sender_id=getattr(actor, "id", None), status=DeliveryStatus.SENDING.value))
    enqueue("mail", "app.billing.jobs.send_invoice_email", invoice.id, link, to, key, job_id=key)
    record("invoice.sent", f"{'Sending' if first else 'Sending again'} invoice {invoice.invoice_number} to {to}",
           actor=actor, company=invoice.company_id, lead=invoice.lead_id,
           detail={"invoice_id": invoice.id, "invoice_number": invoice.invoice_number, "to": to,
                   "new_link": True, "message_key": key})
    if first:
        events.billing_changed("invoice.sent", invoice, actor)
    return link


# ------------------------------------------------------------------ delivery of the e-mail

REASON_LIMIT = 500


def latest_delivery(invoice: Invoice) -> MailDelivery | None:
    """The invoice's last e-mail (what its sharing page reports), or None (never e-mailed
    since deliveries are recorded)."""
    return db.session.scalar(select(MailDelivery).where(MailDelivery.invoice_id == invoice.id)
                             .order_by(MailDelivery.created_at.desc(), MailDelivery.id.desc()).limit(1))


def delivery_for(invoice: Invoice, *, to: str, message_key: str) -> MailDelivery:
    """The delivery row of one invoice e-mail (a job queued before rows were written
    gets one now)."""
    delivery = db.session.scalar(select(MailDelivery).where(MailDelivery.message_key == message_key))
    if delivery is None:
        delivery = MailDelivery(message_key=message_key, to_address=to, invoice_id=invoice.id,
                                status=DeliveryStatus.SENDING.value, attempts=0)
        db.session.add(delivery)
        db.session.flush()
    return delivery


def mark_delivered(delivery: MailDelivery, invoice: Invoice) -> None:
    """The mail server took the message: SENT, the activity says so, and the task an
    earlier failed e-mail of this invoice gave the rep is done."""
    from app.crm.models import Task
    from app.crm.tasks.services import complete_task

    delivery.attempts += 1
    delivery.status = DeliveryStatus.SENT.value
    delivery.sent_at = datetime.now(UTC)
    delivery.error = None
    failure_tasks = set(db.session.scalars(select(MailDelivery.task_id).where(
        MailDelivery.invoice_id == invoice.id, MailDelivery.status == DeliveryStatus.FAILED.value,
        MailDelivery.task_id.is_not(None))).all())
    if delivery.task_id is not None:  # this very message, failed before and sent on a re-run
        failure_tasks.add(delivery.task_id)
    for task_id in failure_tasks:
        task = db.session.get(Task, task_id)
        if task is not None:
            complete_task(task, actor=None)
    record("invoice.delivered", f"Sent invoice {invoice.invoice_number} to {delivery.to_address}",
           actor=delivery.sender_id, company=invoice.company_id, lead=invoice.lead_id,
           detail={"invoice_id": invoice.id, "invoice_number": invoice.invoice_number,
                   "to": delivery.to_address, "attempts": delivery.attempts})
    db.session.flush()


def mark_attempt_failed(delivery: MailDelivery, reason: str) -> None:
    """One attempt failed and another will follow: still SENDING, with the reason."""
    delivery.attempts += 1
    delivery.error = reason[:REASON_LIMIT]
    db.session.flush()


def mark_not_delivered(delivery: MailDelivery, invoice: Invoice, reason: str) -> None:
    """The message will not arrive (refused for good, or the last retry failed): FAILED
    with the reason, an activity, and a task for the rep who sent it."""
    from app.auth.models import User
    from app.crm.models import TaskPriority, TaskType
    from app.crm.tasks.services import create_task, create_task_for_an_admin

    if delivery.status == DeliveryStatus.FAILED.value:
        return  # already reported
    reason = reason[:REASON_LIMIT]
    delivery.attempts += 1
    delivery.status = DeliveryStatus.FAILED.value
    delivery.error = reason
    delivery.failed_at = datetime.now(UTC)
    number, to = invoice.invoice_number, delivery.to_address
    record("invoice.not_delivered", f"Invoice {number} was not delivered to {to}: {reason}",
           company=invoice.company_id, lead=invoice.lead_id,
           detail={"invoice_id": invoice.id, "invoice_number": number, "to": to, "reason": reason,
                   "attempts": delivery.attempts})
    title = f"Invoice {number} was not delivered to {to}"
    description = (f"The mail server said: {reason}\n\nCheck the address, then send it again from "
                   f"{absolute_url('billing.invoice_sharing', invoice_id=invoice.id)}")
    sender = db.session.get(User, delivery.sender_id) if delivery.sender_id else None
    if sender is not None and sender.is_active:
        task = create_task(title=title, description=description, actor=None, assigned_to=sender,
                           company=invoice.company, lead=invoice.lead, task_type=TaskType.EMAIL,
                           priority=TaskPriority.HIGH, due_at=datetime.now(UTC))
    else:
        task = create_task_for_an_admin(title=title, description=description, actor=None,
                                        company=invoice.company, lead=invoice.lead)
    delivery.task_id = task.id if task is not None else None
    db.session.flush()


def revoke_link(invoice: Invoice, *, actor) -> None:
    if invoice.payment_token is None:
        raise SendRefused("This invoice has no active link.")
    from app.billing.pay_links import forget_link

    invoice.payment_token = None
    forget_link(invoice)
    db.session.flush()
    record("invoice.link_revoked", f"Revoked the payment link of {invoice.invoice_number}", actor=actor,
           company=invoice.company_id, lead=invoice.lead_id,
           detail={"invoice_id": invoice.id, "invoice_number": invoice.invoice_number})


def seller_profile() -> dict:
    from app.settings.models import Setting

    value = db.session.scalar(select(Setting.value).where(Setting.key == "company.profile"))
    return value if isinstance(value, dict) else {"name": "GPS Leaders"}


def invoice_email(invoice: Invoice, *, link: str, to: str, message_key: str | None = None) -> MailMessage:
    seller = seller_profile()
    _, name = recipient(invoice)
    context = {"invoice": invoice, "link": link, "seller": seller, "name": name}
    return MailMessage(
        to=to,
        subject=f"Invoice {invoice.invoice_number} from {seller.get('name', 'GPS Leaders')}",
        body_text=render_template("billing/public/email_invoice.txt", **context),
        body_html=render_template("billing/public/email_invoice.html", **context),
        invoice_id=str(invoice.id),
        message_key=message_key,
    )
