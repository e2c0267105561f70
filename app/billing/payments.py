"""Payments: the ledger of an invoice, and the only ways money is recorded on it.

Rules:

- Payment rows are never edited or deleted (the database refuses it, migration 0006):
  a refund is a NEW row with a negative amount.
- `amount_paid` is exactly the sum of the invoice's payment rows and `balance_due`
  is `total - amount_paid` (`apply_payments`, the one place both are set).
- Status follows the money: PAID when the balance is ≤ 0 and the total > 0 (paid_at
  set), PARTIAL when 0 < paid < total, otherwise SENT if it was sent, else DRAFT. A
  VOID invoice stays VOID.
- Every recording service locks the invoice row first (SELECT ... FOR UPDATE), so two
  workers recording against one invoice queue up, and checks happen on fresh numbers.
- Stripe payments are keyed by the PaymentIntent id (`payments.stripe_payment_id`,
  unique): the three events one payment produces create one row. A Stripe refund is
  keyed `<charge id>:refund:<cumulative amount_refunded in cents>`: `charge.refunded`
  carries the charge's cumulative refunded amount, so the row records the difference
  to what is already recorded for that charge; a duplicate or an older (out of order)
  delivery finds nothing left to record.
- Stripe amounts are integer cents at the boundary (`from_cents`).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import func, select

from app.billing import events
from app.billing.invoices import record_invoice_activity
from app.billing.models import Invoice, InvoicePaymentOptions, InvoiceStatus, Payment, PaymentMethod
from app.db import escape_like
from app.extensions import db
from app.forms import InputRefused, parse_money
from app.integrations.payments import RefundRequest

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
MAX_AMOUNT = Decimal("99999999.99")
MANUAL_METHODS = (PaymentMethod.CHECK, PaymentMethod.CASH, PaymentMethod.WIRE, PaymentMethod.OTHER)
CURRENCY = "usd"


class PaymentRefused(Exception):
    """A payment that can't be recorded; the message is for the person who tried."""


class PaymentMismatch(PaymentRefused):
    """A provider's payment that doesn't fit the invoice (amount, currency, state)."""


class CheckoutRefused(PaymentRefused):
    """The customer cannot pay the invoice online now; `status` is the HTTP answer's."""

    def __init__(self, message: str, status: int = 409):
        super().__init__(message)
        self.status = status


class PaymentNotYetRecorded(Exception):
    """A refund arrived before the payment it refunds: try again later."""


# ------------------------------------------------------------------ the ledger (pure)

def to_money(value) -> Decimal:
    """An amount with exactly two places, read by the one money rule (`app.forms.parse_money`):
    refuses fractions of a cent, non-numbers and what Numeric(10,2) cannot hold. Negative
    amounts pass here; `check_payment_amount` says why they are refused."""
    try:
        amount = parse_money(value, allow_negative=True)
    except InputRefused as exc:
        raise PaymentRefused(str(exc)) from exc
    if amount is None:
        raise PaymentRefused("Enter the amount as a number, e.g. 125.00.")
    return amount


def from_cents(cents: int) -> Decimal:
    if not isinstance(cents, int) or isinstance(cents, bool):
        raise PaymentMismatch(f"amount {cents!r} is not an integer number of cents")
    return (Decimal(cents) / 100).quantize(CENT)


def to_cents(amount: Decimal) -> int:
    return int((Decimal(amount) * 100).to_integral_value(rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class Settlement:
    amount_paid: Decimal
    balance_due: Decimal
    status: InvoiceStatus


def settle(total: Decimal, amounts, *, status: InvoiceStatus, sent: bool) -> Settlement:
    """What an invoice's money fields and status are, given its total and its payment
    rows (refunds negative). Pure: the ledger's one definition."""
    paid = sum((Decimal(a) for a in amounts), ZERO)
    balance = Decimal(total) - paid
    if status is InvoiceStatus.VOID:
        new_status = InvoiceStatus.VOID
    elif total > 0 and balance <= 0:
        new_status = InvoiceStatus.PAID
    elif 0 < paid < total:
        new_status = InvoiceStatus.PARTIAL
    else:
        new_status = InvoiceStatus.SENT if sent else InvoiceStatus.DRAFT
    return Settlement(paid, balance, new_status)


def check_payment_amount(amount: Decimal, *, balance_due: Decimal, allow_overpayment: bool) -> None:
    if amount <= 0:
        raise PaymentRefused("A payment must be more than $0.00.")
    if amount > MAX_AMOUNT:
        raise PaymentRefused("That amount is too large.")
    if not allow_overpayment and amount > balance_due:
        raise PaymentRefused(
            f"${amount:,.2f} is more than the balance due (${max(balance_due, ZERO):,.2f}); "
            "this invoice does not accept overpayments.")


def check_refund_amount(amount: Decimal, *, paid: Decimal, refunded_before: Decimal) -> None:
    """A refund of a payment: at least a cent, at most what is left of it."""
    left = paid - refunded_before
    if amount <= 0 or amount > left:
        raise PaymentRefused(f"Refund between $0.01 and ${left:,.2f} (what is left of this payment).")


# ------------------------------------------------------------------ on the invoice

def apply_payments(invoice: Invoice) -> bool:
    """Set amount_paid, balance_due, status and paid_at from the invoice's payment rows.
    Nothing else: no order, no stage move (the payment services do that, `signed_and_paid`).
    True when this call made the invoice PAID."""
    was_paid = invoice.status is InvoiceStatus.PAID
    if invoice.id is None:
        amounts = [p.amount for p in invoice.payments]
    else:
        amounts = [db.session.scalar(
            select(func.coalesce(func.sum(Payment.amount), 0)).where(Payment.invoice_id == invoice.id))]
    result = settle(invoice.total or ZERO, amounts, status=invoice.status,
                    sent=invoice.sent_at is not None)
    if invoice.amount_paid != result.amount_paid:
        invoice.amount_paid = result.amount_paid
    if invoice.balance_due != result.balance_due:
        invoice.balance_due = result.balance_due
    if invoice.status is not result.status:
        invoice.status = result.status
    if result.status is InvoiceStatus.PAID:
        if invoice.paid_at is None:
            invoice.paid_at = datetime.now(UTC)
    elif invoice.status is not InvoiceStatus.VOID and invoice.paid_at is not None:
        invoice.paid_at = None
    return result.status is InvoiceStatus.PAID and not was_paid


def _after_payment(invoice: Invoice, became_paid: bool, *, actor=None) -> None:
    """A payment that made a signed invoice PAID sets off what that means."""
    if became_paid and invoice.signed_at is not None:
        signed_and_paid(invoice, actor=actor)


def signed_and_paid(invoice: Invoice, *, actor=None) -> None:
    """What a signed, paid invoice sets off (from whichever came last, payment or
    signature; each step is idempotent): the `invoice_signed_and_paid` event (fulfilment
    sends its devices to the warehouse, one order per invoice), and its lead is won,
    moved through the pipeline's one mover (its activity)."""
    events.invoice_signed_and_paid(invoice, actor)
    if invoice.lead_id is not None:
        from app.crm.models import Lead, LeadStage
        from app.crm.pipeline.moves import move_lead_to_stage

        if db.session.scalar(select(Lead.stage).where(Lead.id == invoice.lead_id)) is not LeadStage.WON:
            move_lead_to_stage(invoice.lead_id, LeadStage.WON, actor=None)


def payment_options(invoice: Invoice) -> InvoicePaymentOptions:
    """The invoice's flags (a transient all-false row when none was saved)."""
    options = db.session.get(InvoicePaymentOptions, invoice.id) if invoice.id else None
    return options or InvoicePaymentOptions(invoice_id=invoice.id, allow_partial=False,
                                            allow_overpayment=False)


def check_can_pay_online(invoice: Invoice) -> None:
    """The customer may pay on the invoice's page once it is signed, while something is due
    and it is not void; else CheckoutRefused says why."""
    if invoice.signed_at is None:
        raise CheckoutRefused("Please sign the agreement before paying.")
    if invoice.status is InvoiceStatus.VOID:
        raise CheckoutRefused("This invoice is void: there is nothing to pay.")
    if invoice.status is InvoiceStatus.PAID or (invoice.balance_due or ZERO) <= ZERO:
        raise CheckoutRefused("This invoice is already paid. Thank you!")


def can_pay_online(invoice: Invoice) -> bool:
    try:
        check_can_pay_online(invoice)
    except CheckoutRefused:
        return False
    return True


def checkout_amount(invoice: Invoice, requested: str | None) -> Decimal:
    """What an online payment of the invoice charges: the balance due, or the amount the
    customer typed when the invoice accepts partial payments (checked like any payment).
    Raises CheckoutRefused (cannot pay now) or PaymentRefused (that amount)."""
    check_can_pay_online(invoice)
    options = payment_options(invoice)
    if not (options.allow_partial and requested):
        return invoice.balance_due
    amount = to_money(requested)
    check_payment_amount(amount, balance_due=invoice.balance_due, allow_overpayment=options.allow_overpayment)
    return amount


def set_payment_options(invoice: Invoice, *, actor, allow_partial: bool,
                        allow_overpayment: bool) -> InvoicePaymentOptions:
    options = db.session.get(InvoicePaymentOptions, invoice.id)
    if options is None:
        options = InvoicePaymentOptions(invoice_id=invoice.id)
        db.session.add(options)
    before = {"allow_partial": bool(options.allow_partial),
              "allow_overpayment": bool(options.allow_overpayment)}
    options.allow_partial, options.allow_overpayment = bool(allow_partial), bool(allow_overpayment)
    after = {"allow_partial": options.allow_partial, "allow_overpayment": options.allow_overpayment}
    db.session.flush()
    if before != after:
        record_invoice_activity("invoice.payment_options", f"Payment options of {invoice.invoice_number}: "
                f"partial {'on' if allow_partial else 'off'}, overpayment "
                f"{'on' if allow_overpayment else 'off'}", invoice, actor=actor, before=before, after=after)
    return options


def lock_invoice(invoice_id) -> Invoice | None:
    """The invoice, its row locked until the transaction ends, with fresh values."""
    return db.session.scalar(
        select(Invoice).where(Invoice.id == invoice_id).with_for_update()
        .execution_options(populate_existing=True))


def _payable_or_refuse(invoice: Invoice, error=PaymentRefused) -> None:
    if invoice.status is InvoiceStatus.VOID:
        raise error("This invoice is void: it can't take payments.")


def record_manual_payment(invoice: Invoice, *, actor, amount, method: PaymentMethod | str,
                          reference: str | None = None, paid_at: datetime | None = None,
                          notes: str | None = None) -> Payment:
    """A check, cash, wire or other payment a person records by hand."""
    try:
        method = PaymentMethod(method) if not isinstance(method, PaymentMethod) else method
    except ValueError as exc:
        raise PaymentRefused("Choose check, cash, wire or other.") from exc
    if method not in MANUAL_METHODS:
        raise PaymentRefused("Choose check, cash, wire or other (card and bank payments come from Stripe).")
    amount = to_money(amount)
    invoice = lock_invoice(invoice.id)
    _payable_or_refuse(invoice)
    check_payment_amount(amount, balance_due=invoice.balance_due,
                         allow_overpayment=payment_options(invoice).allow_overpayment)
    paid_at = paid_at or datetime.now(UTC)
    if paid_at.tzinfo is None:
        paid_at = paid_at.replace(tzinfo=UTC)
    payment = Payment(invoice_id=invoice.id, amount=amount, method=method,
                      reference=(reference or "").strip()[:200] or None,
                      notes=(notes or "").strip()[:2000] or None, paid_at=paid_at)
    db.session.add(payment)
    db.session.flush()
    became_paid = apply_payments(invoice)
    db.session.flush()
    record_invoice_activity("payment.recorded", f"Recorded a {method.value.lower()} payment of ${amount:,.2f} on "
            f"{invoice.invoice_number}", invoice, actor=actor, payment_id=payment.id, amount=amount,
            method=method, reference=payment.reference)
    events.billing_changed("payment.recorded", payment, actor)
    _after_payment(invoice, became_paid, actor=actor)
    return payment


def _existing(stripe_payment_id: str) -> Payment | None:
    return db.session.scalar(select(Payment).where(Payment.stripe_payment_id == stripe_payment_id))


def record_stripe_payment(invoice_id, *, payment_intent_id: str, amount_cents: int, currency: str,
                          paid_at: datetime | None = None, source: str | None = None) -> Payment | None:
    """Record a succeeded PaymentIntent once. Returns the new row, or None when it was
    already recorded. Raises PaymentMismatch (and changes nothing) when it doesn't fit."""
    invoice = lock_invoice(invoice_id)
    if invoice is None:
        raise PaymentMismatch(f"no invoice {invoice_id}")
    if not payment_intent_id or not str(payment_intent_id).startswith("pi_"):
        raise PaymentMismatch(f"not a PaymentIntent id: {payment_intent_id!r}")
    if _existing(payment_intent_id) is not None:
        return None
    _payable_or_refuse(invoice, PaymentMismatch)
    if (currency or "").lower() != CURRENCY:
        raise PaymentMismatch(f"currency {currency!r} is not {CURRENCY}")
    amount = from_cents(amount_cents)
    try:
        check_payment_amount(amount, balance_due=invoice.balance_due,
                             allow_overpayment=payment_options(invoice).allow_overpayment)
    except PaymentRefused as exc:
        raise PaymentMismatch(str(exc)) from exc
    payment = Payment(invoice_id=invoice.id, amount=amount, method=PaymentMethod.STRIPE,
                      stripe_payment_id=payment_intent_id, reference=source,
                      paid_at=paid_at or datetime.now(UTC))
    db.session.add(payment)
    db.session.flush()
    became_paid = apply_payments(invoice)
    db.session.flush()
    record_invoice_activity("payment.received", f"Received ${amount:,.2f} through Stripe on {invoice.invoice_number}",
            invoice, payment_id=payment.id, amount=amount, stripe_payment_id=payment_intent_id)
    events.billing_changed("payment.recorded", payment)
    _after_payment(invoice, became_paid)
    return payment


def record_stripe_refund(invoice_id, *, charge_id: str, payment_intent_id: str,
                         amount_refunded_cents: int, charge_amount_cents: int, currency: str,
                         refunded_at: datetime | None = None) -> Payment | None:
    """Record what a `charge.refunded` adds to the refunds already recorded for the
    charge, as a negative row. None when there's nothing new (duplicate / older event)."""
    invoice = lock_invoice(invoice_id)
    if invoice is None:
        raise PaymentMismatch(f"no invoice {invoice_id}")
    if (currency or "").lower() != CURRENCY:
        raise PaymentMismatch(f"currency {currency!r} is not {CURRENCY}")
    if not charge_id or not payment_intent_id:
        raise PaymentMismatch("the refunded charge names no charge or PaymentIntent")
    refunded_total = from_cents(amount_refunded_cents)
    original = _existing(payment_intent_id)
    if original is None:
        raise PaymentNotYetRecorded(f"payment {payment_intent_id} is not recorded yet")
    if original.invoice_id != invoice.id:
        raise PaymentMismatch(f"payment {payment_intent_id} belongs to another invoice")
    if refunded_total <= 0 or refunded_total > original.amount \
            or refunded_total > from_cents(charge_amount_cents):
        raise PaymentMismatch(f"refunded ${refunded_total:,.2f} doesn't fit the payment of "
                              f"${original.amount:,.2f}")
    key = f"{charge_id}:refund:{amount_refunded_cents}"
    if _existing(key) is not None:
        return None
    already = -db.session.scalar(
        select(func.coalesce(func.sum(Payment.amount), 0))
        .where(Payment.stripe_payment_id.like(f"{escape_like(charge_id)}:refund:%")))
    delta = refunded_total - already
    if delta <= 0:
        return None  # an older state of the charge: its refunds are already recorded
    refund = Payment(invoice_id=invoice.id, amount=-delta, method=PaymentMethod.STRIPE,
                     stripe_payment_id=key, reference=charge_id,
                     notes=f"Refund of {payment_intent_id}", paid_at=refunded_at or datetime.now(UTC))
    db.session.add(refund)
    db.session.flush()
    apply_payments(invoice)
    db.session.flush()
    record_invoice_activity("payment.refunded", f"Refunded ${delta:,.2f} through Stripe on {invoice.invoice_number}",
            invoice, payment_id=refund.id, amount=-delta, stripe_payment_id=key)
    events.billing_changed("payment.refunded", refund)
    return refund


def refunded_so_far(payment: Payment) -> Decimal:
    """What the Stripe refunds recorded for a Stripe payment add up to (positive)."""
    return -db.session.scalar(
        select(func.coalesce(func.sum(Payment.amount), 0)).where(
            Payment.invoice_id == payment.invoice_id, Payment.amount < 0,
            Payment.notes == f"Refund of {payment.stripe_payment_id}"))


def is_refundable(payment: Payment) -> bool:
    return payment.method is PaymentMethod.STRIPE and payment.amount > 0 \
        and (payment.stripe_payment_id or "").startswith("pi_")


def refund_stripe_payment(payment: Payment, *, actor, amount, backend) -> str:
    """Ask the payments provider to refund (part of) a Stripe payment; returns its refund
    id. Nothing is recorded but the request's activity: the refund row comes with
    Stripe's `charge.refunded` (`record_stripe_refund`). The idempotency key names the
    payment, what was refunded before and the amount: the same refund asked twice (a
    double click, a retry) is one refund at Stripe."""
    invoice = lock_invoice(payment.invoice_id)
    if not is_refundable(payment):
        raise PaymentRefused("Only a card or bank payment taken through Stripe is refunded here.")
    before = refunded_so_far(payment)
    amount = to_money(amount) if str(amount or "").strip() else payment.amount - before
    check_refund_amount(amount, paid=payment.amount, refunded_before=before)
    refund_id = backend.refund(RefundRequest(
        payment_intent_id=payment.stripe_payment_id, charge_id=None, amount_minor=to_cents(amount),
        currency=CURRENCY, invoice_id=str(invoice.id),
        idempotency_key=f"payment-{payment.id}-refund-{to_cents(before)}-{to_cents(amount)}",
        metadata={"payment_id": str(payment.id), "source": "crm"},
        payment_amount_minor=to_cents(payment.amount), already_refunded_minor=to_cents(before)))
    record_invoice_activity("payment.refund_requested", f"Asked Stripe to refund ${amount:,.2f} of "
            f"{invoice.invoice_number}", invoice, actor=actor, payment_id=payment.id, amount=amount,
            refund_id=refund_id)
    return refund_id


__all__ = [
    "InvoicePaymentOptions", "PaymentMismatch", "PaymentNotYetRecorded", "PaymentRefused",
    "apply_payments", "check_payment_amount", "check_refund_amount", "from_cents", "is_refundable", "refund_stripe_payment",
    "refunded_so_far", "lock_invoice", "payment_options",
    "record_manual_payment", "record_stripe_payment", "record_stripe_refund", "set_payment_options",
    "settle", "signed_and_paid", "to_cents", "to_money",
]
