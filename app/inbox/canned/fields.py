"""The values of the catalogue's merge fields for one lead and the rep writing.

Only the fields a template uses are computed (the invoice and its link cost queries).
A field without a value is left out, with the reason when there is a better one than
"empty" (no invoice, an unsent invoice, no live link): rendering then uses the
template's default or refuses with that reason.
"""
from __future__ import annotations

from sqlalchemy import select

from app.billing.models import Invoice, InvoiceStatus
from app.billing.pay_links import live_token
from app.billing.sending import public_url
from app.crm.models import CompanyAddress, Lead
from app.crm.pipeline.moves import STAGE_LABELS
from app.extensions import db
from app.template_helpers import money


def latest_invoice(lead: Lead) -> Invoice | None:
    """The invoice a canned reply talks about: the lead's latest one that is not void."""
    return db.session.scalar(select(Invoice).where(Invoice.lead_id == lead.id,
                                                   Invoice.status != InvoiceStatus.VOID)
                             .order_by(Invoice.created_at.desc(), Invoice.id.desc()).limit(1))


def _company_city(company) -> str | None:
    if company is None:
        return None
    return db.session.scalar(select(CompanyAddress.city).where(CompanyAddress.company_id == company.id)
                             .order_by(CompanyAddress.is_default_billing.desc(),
                                       CompanyAddress.created_at).limit(1))


def field_values(fields: set[str], *, lead: Lead, rep) -> tuple[dict[str, str], dict[str, str]]:
    """({field: value}, {field: why it has none}) for the `fields` asked."""
    values: dict[str, str | None] = {}
    reasons: dict[str, str] = {}
    contact, company = lead.contact, lead.company
    namespaces = {f.split(".")[0] for f in fields}
    if "contact" in namespaces and contact is not None:
        full = contact.full_name or " ".join(p for p in (contact.first_name, contact.last_name) if p)
        values.update({"contact.first_name": contact.first_name, "contact.last_name": contact.last_name,
                       "contact.full_name": full})
    if "company" in namespaces:
        if company is None:
            reasons.update({f: "This lead has no company." for f in ("company.name", "company.city")})
        else:
            values["company.name"] = company.name
            if "company.city" in fields:
                values["company.city"] = _company_city(company)
    if "rep" in namespaces and rep is not None:
        values.update({"rep.first_name": rep.first_name, "rep.full_name": rep.full_name,
                       "rep.email": rep.email, "rep.phone": rep.phone})
    if "lead" in namespaces:
        values["lead.stage"] = STAGE_LABELS.get(lead.stage, lead.stage.value if lead.stage else None)
    if "invoice" in namespaces:
        invoice = latest_invoice(lead)
        if invoice is None:
            for f in ("invoice.number", "invoice.total", "invoice.balance_due", "invoice.pay_url"):
                reasons[f] = "This lead has no invoice, so the template's invoice fields have no value."
        else:
            values.update({"invoice.number": invoice.invoice_number, "invoice.total": money(invoice.total),
                           "invoice.balance_due": money(invoice.balance_due)})
            if "invoice.pay_url" in fields:
                values["invoice.pay_url"], reasons["invoice.pay_url"] = _pay_url(invoice)
    return {k: v for k, v in values.items() if k in fields and v}, reasons


def _pay_url(invoice: Invoice) -> tuple[str | None, str]:
    number = invoice.invoice_number
    if invoice.status is InvoiceStatus.PAID:
        return None, f"Invoice {number} is paid: there is no payment link to send."
    if invoice.sent_at is None or invoice.status is InvoiceStatus.DRAFT:
        return None, f"Invoice {number} has not been sent, so it has no payment link: send it first."
    token = live_token(invoice)
    if token is None:
        return None, (f"Invoice {number} has no payment link this reply can quote (revoked, or sent "
                      f"before links were kept): send the invoice again from its page.")
    return public_url(token), ""
