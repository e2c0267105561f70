"""The ledger never loses or invents a cent: random payments and refunds, accepted or
refused by the services' own rules (app.billing.payments: check_payment_amount,
check_refund_amount), keep amount_paid equal to the sum of the rows and balance_due equal
to total - amount_paid, with a status that follows the money."""
from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.billing.models import InvoiceStatus
from app.billing.payments import (
    PaymentMismatch,
    PaymentRefused,
    check_payment_amount,
    check_refund_amount,
    from_cents,
    settle,
    to_cents,
    to_money,
)

cents = st.integers(min_value=1, max_value=10_000_000)
operations = st.lists(
    st.tuples(st.sampled_from(["pay", "refund"]), st.integers(min_value=-500, max_value=20_000_000)),
    max_size=40,
)


class Ledger:
    """An invoice's payment rows, recorded under the services' rules."""

    def __init__(self, total: Decimal, allow_overpayment: bool):
        self.total = total
        self.allow_overpayment = allow_overpayment
        self.payments: list[list[Decimal]] = []  # [amount, refunded so far]
        self.rows: list[Decimal] = []
        self.sent = True

    @property
    def state(self):
        return settle(self.total, self.rows, status=InvoiceStatus.SENT, sent=self.sent)

    def pay(self, amount: Decimal) -> bool:
        try:
            check_payment_amount(amount, balance_due=self.state.balance_due,
                                 allow_overpayment=self.allow_overpayment)
        except PaymentRefused:
            return False
        self.payments.append([amount, Decimal("0.00")])
        self.rows.append(amount)
        return True

    def refund(self, amount: Decimal) -> bool:
        """A refund of the latest payment: a new negative row."""
        if not self.payments:
            return False
        payment = self.payments[-1]
        try:
            check_refund_amount(amount, paid=payment[0], refunded_before=payment[1])
        except PaymentRefused:
            return False
        payment[1] += amount
        self.rows.append(-amount)
        return True


@settings(max_examples=300, deadline=None)
@given(total=cents, ops=operations, allow_overpayment=st.booleans())
def test_random_payments_and_refunds_never_lose_or_invent_a_cent(total, ops, allow_overpayment):
    ledger = Ledger(from_cents(total), allow_overpayment)
    money_in = Decimal("0.00")
    for kind, amount_cents in ops:
        amount = (Decimal(amount_cents) / 100).quantize(Decimal("0.01"))
        accepted = ledger.pay(amount) if kind == "pay" else ledger.refund(amount)
        if accepted:
            money_in += amount if kind == "pay" else -amount
        state = ledger.state
        assert state.amount_paid == sum(ledger.rows, Decimal("0.00")) == money_in
        assert state.balance_due == ledger.total - state.amount_paid
        assert state.amount_paid >= 0
        assert state.amount_paid.as_tuple().exponent == -2  # cents, never float noise
        if not allow_overpayment:
            assert state.balance_due >= 0
        if state.balance_due <= 0:
            assert state.status is InvoiceStatus.PAID
        elif state.amount_paid > 0:
            assert state.status is InvoiceStatus.PARTIAL
        else:
            assert state.status is InvoiceStatus.SENT


@given(total=cents, paid=st.lists(cents, max_size=5))
def test_void_stays_void_and_unsent_is_draft(total, paid):
    amounts = [from_cents(c) for c in paid]
    assert settle(from_cents(total), amounts, status=InvoiceStatus.VOID, sent=True).status \
        is InvoiceStatus.VOID
    if not paid:
        assert settle(from_cents(total), [], status=InvoiceStatus.DRAFT, sent=False).status \
            is InvoiceStatus.DRAFT


@given(c=st.integers(min_value=0, max_value=9_999_999_999))
def test_cents_round_trip_exactly(c):
    assert to_cents(from_cents(c)) == c


@pytest.mark.parametrize("raw", ["1.005", "abc", "Infinity", "NaN", ""])
def test_to_money_refuses_what_is_not_whole_cents(raw):
    with pytest.raises(PaymentRefused):
        to_money(raw)


@pytest.mark.parametrize("raw", [1.5, "100", True, None])
def test_stripe_amounts_must_be_integer_cents(raw):
    with pytest.raises(PaymentMismatch):
        from_cents(raw)
