"""Billing writes every activity about an invoice one way (billing.invoices.record_invoice_activity):
on the company's and the lead's timelines, naming the invoice."""
from __future__ import annotations

from sqlalchemy import select

from app.activity.models import Activity
from app.auth.models import UserRole
from app.billing.payments import record_manual_payment
from tests.integration.test_payments import make_invoice
from tests.integration.test_public_page import sign


def test_invoice_payment_and_signature_activities_name_the_invoice(client, factory, db_session):
    clerk = factory.user(UserRole.ADMIN)
    invoice, token = make_invoice(factory, devices=1, actor=clerk)
    assert sign(client, token).status_code == 303
    record_manual_payment(invoice, actor=clerk, amount=invoice.balance_due, method="CASH", reference="r-1")
    rows = {a.activity_type: a for a in db_session.scalars(select(Activity).where(
        Activity.activity_type.in_(["invoice.created", "invoice.signed", "payment.recorded"])))}
    assert set(rows) == {"invoice.created", "invoice.signed", "payment.recorded"}
    for activity in rows.values():
        assert (activity.company_id, activity.lead_id) == (invoice.company_id, invoice.lead_id)
        assert activity.detail["invoice_id"] == str(invoice.id)
        assert activity.detail["invoice_number"] == invoice.invoice_number
    assert rows["invoice.created"].user_id == clerk.id and rows["payment.recorded"].user_id == clerk.id
    assert rows["invoice.signed"].user_id is None and rows["invoice.signed"].detail["content_sha256"]
    assert rows["payment.recorded"].detail["reference"] == "r-1"
