"""Money code has no hidden side effects: recomputing an invoice's totals and balance never
sends anything to the warehouse; paying a signed invoice does, once, through billing's
`invoice_signed_and_paid` event that fulfilment listens to."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from app.auth.models import UserRole
from app.billing import events
from app.billing.models import InvoiceStatus
from app.billing.payments import record_manual_payment
from app.billing.totals import recompute_invoice
from app.fulfillment import packing
from app.fulfillment.models import FulfillmentOrder, FulfillmentStatus
from tests.integration.test_payments import make_invoice
from tests.integration.test_public_page import sign


def _orders(db_session, invoice, *, open_only=False):
    query = select(func.count()).select_from(FulfillmentOrder).where(FulfillmentOrder.invoice_id == invoice.id)
    if open_only:
        query = query.where(FulfillmentOrder.status != FulfillmentStatus.CANCELED)
    return db_session.scalar(query)


def test_paying_a_signed_invoice_makes_one_order_and_recomputing_makes_none(client, factory, db_session):
    clerk = factory.user(UserRole.ADMIN)
    invoice, token = make_invoice(factory, devices=3)
    assert sign(client, token).status_code == 303
    db_session.refresh(invoice)
    assert invoice.signed_at is not None and _orders(db_session, invoice) == 0

    heard = []
    listener = events.on_invoice_signed_and_paid(lambda inv, actor: heard.append(inv.id))
    try:
        record_manual_payment(invoice, actor=clerk, amount=invoice.balance_due, method="CHECK")
    finally:
        events._signed_and_paid_listeners.remove(listener)
    assert invoice.status is InvoiceStatus.PAID and heard == [invoice.id]
    [order] = db_session.scalars(select(FulfillmentOrder).where(FulfillmentOrder.invoice_id == invoice.id)).all()
    assert order.device_count == 3

    recompute_invoice(invoice)  # unchanged: no second order
    db_session.flush()
    assert _orders(db_session, invoice) == 1

    packing.cancel(order.id, actor=clerk, reason="customer changed the address")
    recompute_invoice(invoice)  # a paid, signed invoice whose order was canceled
    db_session.flush()
    assert invoice.status is InvoiceStatus.PAID and invoice.balance_due == Decimal("0.00")
    assert _orders(db_session, invoice, open_only=True) == 0


def test_a_payment_on_an_unsigned_invoice_emits_nothing(factory, db_session):
    clerk = factory.user(UserRole.ADMIN)
    invoice, _ = make_invoice(factory, devices=2)
    heard = []
    listener = events.on_invoice_signed_and_paid(lambda inv, actor: heard.append(inv.id))
    try:
        record_manual_payment(invoice, actor=clerk, amount=invoice.balance_due, method="CHECK")
    finally:
        events._signed_and_paid_listeners.remove(listener)
    assert invoice.status is InvoiceStatus.PAID and heard == []
    assert _orders(db_session, invoice) == 0
