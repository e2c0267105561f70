"""The customer's e-signature on an invoice's agreement.

What is shown is what is signed: the public page renders the agreement text and a
canonical description of the invoice (`invoice_content`), and carries the SHA-256 of
both in the signing form. `sign_invoice` recomputes them under the invoice's row
lock and refuses when either changed in between, so the stored snapshot is exactly
the text the customer read. The evidence goes to the spec's invoices.signed_*
columns and to `invoice_signatures` (one row per invoice: the database refuses a
second signature), with both hashes and the consent notice as shown.
"""
from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from app.billing.invoices import device_lines, is_device_product, record_invoice_activity
from app.billing.models import Invoice, InvoiceSignature, InvoiceStatus, Product, ProductType
from app.billing.payments import lock_invoice
from app.extensions import db

CONSENT_TEXT = (
    "I agree to sign this agreement electronically. My typed name below is my signature "
    "and has the same effect as a handwritten signature. I can print or download a copy "
    "of the signed agreement and its signature certificate from this page."
)
MAX_NAME = 200


class SigningRefused(Exception):
    def __init__(self, message: str, status: int = 422, field: str | None = None):
        super().__init__(message)
        self.status = status
        self.field = field


# ------------------------------------------------------------------ what is shown

def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _products(invoice: Invoice) -> dict[str, Product]:
    codes = {ln.product_code for ln in invoice.line_items if ln.product_code}
    if not codes:
        return {}
    rows = db.session.scalars(select(Product).where(Product.qb_item_id.in_(codes))).all()
    return {p.qb_item_id: p for p in rows}


def _money(value: Decimal | None) -> str:
    return f"${(value or Decimal('0')):,.2f}"


def agreement_variables(invoice: Invoice) -> dict[str, str]:
    """The values the agreement's {{variables}} take for this invoice."""
    products = _products(invoice)
    devices = sum(line.quantity for line, _ in device_lines(invoice))
    monthly = None
    for line in invoice.line_items:
        product = products.get(line.product_code)
        if product is not None and not is_device_product(product) and product.type is ProductType.RECURRING:
            monthly = line.unit_price
            break
    if monthly is None:
        from app.settings.models import Setting

        defaults = db.session.scalar(select(Setting.value).where(Setting.key == "pricing.defaults"))
        rate = defaults.get("monthly_service_rate") if isinstance(defaults, dict) else None
        monthly = Decimal(rate) if rate else None
    effective = (invoice.sent_at or invoice.created_at or datetime.now(UTC)).date()
    return {
        "company_name": invoice.company.name,
        "device_count": str(devices),
        "monthly_rate": _money(monthly) if monthly is not None else "the rate on this invoice",
        "contract_term": invoice.contract_term.name if invoice.contract_term else "month-to-month",
        "effective_date": f"{effective:%B} {effective.day}, {effective.year}",
        "invoice_number": invoice.invoice_number,
        "total": _money(invoice.total),
    }


_VARIABLE = re.compile(r"\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}")


def render_agreement(invoice: Invoice) -> str | None:
    """The agreement as plain text (the page escapes it; it is never markup). Unknown
    variables stay as written, so a template typo is visible rather than blank."""
    template = invoice.agreement_template
    if template is None:
        return None
    values = agreement_variables(invoice)
    return _VARIABLE.sub(lambda m: values.get(m.group(1), m.group(0)), template.body)


def _address(address) -> dict | None:
    if address is None:
        return None
    return {"label": address.label, "line1": address.address_line1, "line2": address.address_line2,
            "city": address.city, "state": address.state, "zip": address.zip, "country": address.country}


def invoice_content(invoice: Invoice) -> dict[str, Any]:
    """The invoice as the customer agrees to it (not its payment state), JSON-ready."""
    def money(v):
        return None if v is None else f"{Decimal(v):.2f}"

    return {
        "invoice_id": str(invoice.id),
        "invoice_number": invoice.invoice_number,
        "company": invoice.company.name,
        "bill_to": _address(invoice.bill_to_address),
        "ship_to": _address(invoice.ship_to_address),
        "lines": [{"description": ln.description, "quantity": ln.quantity,
                   "unit_price": money(ln.unit_price), "total": money(ln.total),
                   "product_code": ln.product_code} for ln in invoice.line_items],
        "subtotal": money(invoice.subtotal),
        "tax": money(invoice.tax_amount),
        "tax_rate": invoice.tax_rate.name if invoice.tax_rate else None,
        "shipping": money(invoice.shipping_cost),
        "total": money(invoice.total),
        "due_date": invoice.due_date.isoformat() if invoice.due_date else None,
        "contract_term": invoice.contract_term.name if invoice.contract_term else None,
        "agreement_template": invoice.agreement_template.slug if invoice.agreement_template else None,
        "notes": invoice.notes,
    }


def content_sha256(content: dict[str, Any]) -> str:
    return sha256_text(json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False))


def shown_hashes(invoice: Invoice) -> tuple[str, str, str | None]:
    """(agreement hash, content hash, agreement text) of what the page shows now."""
    text = render_agreement(invoice)
    return sha256_text(text or ""), content_sha256(invoice_content(invoice)), text


# ------------------------------------------------------------------ signing

def sign_invoice(invoice: Invoice, *, name: str | None, consent: bool, ip_addr: str | None,
                 user_agent: str | None, agreement_sha256: str | None,
                 content_sha256_shown: str | None, now: datetime | None = None) -> InvoiceSignature:
    """Record the customer's signature (no actor: the customer isn't a user)."""
    name = " ".join((name or "").split())
    if not consent:
        raise SigningRefused("Tick the box to agree to sign electronically.", field="consent")
    if len(name) < 2:
        raise SigningRefused("Type your full name to sign.", field="name")
    if len(name) > MAX_NAME:
        raise SigningRefused(f"Your name can be at most {MAX_NAME} characters.", field="name")
    invoice = lock_invoice(invoice.id)
    if invoice.status is InvoiceStatus.VOID:
        raise SigningRefused("This invoice is no longer available.", status=404)
    if invoice.signed_at is not None or db.session.get(InvoiceSignature, invoice.id) is not None:
        raise SigningRefused("This invoice is already signed.", status=409)
    agreement_hash, content_hash, text = shown_hashes(invoice)
    if agreement_sha256 != agreement_hash or content_sha256_shown != content_hash:
        raise SigningRefused("The invoice or its terms changed while you were reading. "
                             "Please review the updated version and sign again.", status=409)
    now = now or datetime.now(UTC)
    ip_addr = (ip_addr or "")[:100] or None
    user_agent = (user_agent or "")[:1000] or None
    invoice.signed_name = name
    invoice.signed_at = now
    invoice.signed_ip_addr = ip_addr
    invoice.signed_user_agent = user_agent
    invoice.signed_agreement_snapshot = text or ""
    signature = InvoiceSignature(
        invoice_id=invoice.id, signed_name=name, signed_at=now, signed_ip_addr=ip_addr,
        signed_user_agent=user_agent, consent_text=CONSENT_TEXT, agreement_sha256=agreement_hash,
        content_sha256=content_hash, content_snapshot=invoice_content(invoice))
    db.session.add(signature)
    db.session.flush()
    record_invoice_activity("invoice.signed", f"{name} signed invoice {invoice.invoice_number}", invoice,
                            ip=ip_addr, agreement_sha256=agreement_hash, content_sha256=content_hash)
    if invoice.status is InvoiceStatus.PAID:  # paid before it was signed
        from app.billing.payments import signed_and_paid

        signed_and_paid(invoice)
    return signature


def signature_of(invoice: Invoice) -> InvoiceSignature | None:
    return db.session.get(InvoiceSignature, invoice.id)


__all__ = [
    "CONSENT_TEXT", "InvoiceSignature", "SigningRefused", "agreement_variables", "content_sha256",
    "invoice_content", "render_agreement", "sha256_text", "shown_hashes", "sign_invoice",
    "signature_of",
]
