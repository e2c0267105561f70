"""Sending an invoice: its public link /pay/<token> and the e-mail that carries it.

The token is `secrets.token_urlsafe(32)` (256 random bits) and is never stored:
invoices.payment_token holds its SHA-256, so the database alone does not reveal a
usable link. Sending again issues a new token (the old link stops working);
revoking clears it. The e-mail goes out from a job through the mail backend.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime

from flask import render_template
from sqlalchemy import select

from app.activity.services import record
from app.billing.models import Invoice, InvoiceStatus
from app.billing.payments import ZERO, apply_payments
from app.extensions import db
from app.integrations.mail import MailMessage
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
    token = secrets.token_urlsafe(32)
    invoice.payment_token = token_hash(token)
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
    enqueue("mail", "app.billing.jobs.send_invoice_email", invoice.id, link, to, key, job_id=key)
    record("invoice.sent", f"{'Sent' if first else 'Sent again'} invoice {invoice.invoice_number} to {to}",
           actor=actor, company=invoice.company_id, lead=invoice.lead_id,
           detail={"invoice_id": invoice.id, "invoice_number": invoice.invoice_number, "to": to,
                   "new_link": True})
    return link


def revoke_link(invoice: Invoice, *, actor) -> None:
    if invoice.payment_token is None:
        raise SendRefused("This invoice has no active link.")
    invoice.payment_token = None
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
