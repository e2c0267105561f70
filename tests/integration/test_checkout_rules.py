"""Who may pay an invoice online, and how much, is one service (billing.payments.checkout_amount /
can_pay_online): the customer's page shows the button by it and the checkout refuses by it."""
from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from app.auth.models import UserRole
from app.billing.models import InvoiceStatus
from app.billing.payments import (
    CheckoutRefused,
    PaymentRefused,
    can_pay_online,
    checkout_amount,
    record_manual_payment,
    set_payment_options,
)
from tests.integration.test_payments import make_invoice


def test_an_unsigned_invoice_cannot_be_paid_online(factory):
    invoice, _ = make_invoice(factory)
    assert not can_pay_online(invoice)
    with pytest.raises(CheckoutRefused, match="sign the agreement") as refused:
        checkout_amount(invoice, None)
    assert refused.value.status == 409


def test_a_signed_invoice_pays_its_balance_or_an_allowed_part(factory, db_session):
    admin = factory.user(UserRole.ADMIN)
    invoice, _ = make_invoice(factory, actor=admin)
    invoice.signed_at = datetime.now(UTC)
    assert can_pay_online(invoice)
    assert checkout_amount(invoice, "100.00") == invoice.balance_due  # partial not allowed: the balance
    set_payment_options(invoice, actor=admin, allow_partial=True, allow_overpayment=False)
    assert checkout_amount(invoice, "100.00") == Decimal("100.00")
    assert checkout_amount(invoice, "") == invoice.balance_due
    with pytest.raises(PaymentRefused, match="more than the balance due") as refused:
        checkout_amount(invoice, str(invoice.balance_due + 1))
    assert not isinstance(refused.value, CheckoutRefused)  # a wrong amount, not a closed invoice
    with pytest.raises(PaymentRefused):
        checkout_amount(invoice, "12.345")


def test_a_paid_or_void_invoice_cannot_be_paid_online(factory, db_session):
    admin = factory.user(UserRole.ADMIN)
    invoice, _ = make_invoice(factory, actor=admin)
    invoice.signed_at = datetime.now(UTC)
    record_manual_payment(invoice, actor=admin, amount=invoice.balance_due, method="WIRE")
    assert invoice.status is InvoiceStatus.PAID and not can_pay_online(invoice)
    with pytest.raises(CheckoutRefused, match="already paid"):
        checkout_amount(invoice, None)
    void, _ = make_invoice(factory, actor=admin)
    void.signed_at, void.status = datetime.now(UTC), InvoiceStatus.VOID
    assert void.balance_due > 0 and not can_pay_online(void)
