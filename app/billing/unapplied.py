"""Money a customer paid that the CRM did not apply must never sit unseen.

When Stripe reports money taken (a payment event) that `record_stripe_payment` refuses —
more than the balance, another currency, a void or unknown invoice — the event is marked
with the error as before, and `hold_unapplied_payment`:

- records the money once per PaymentIntent in `unapplied_payments` (the three events of one
  payment make one row: the PaymentIntent id is unique there),
- gives an admin a task with the amount, the customer and the reason.

An admin then refunds it (`refund_unapplied_payment`): the payments backend asks Stripe for
the refund with an idempotency key derived from the row and the amount still held, so
asking twice (a double click, a retry after a timeout) is one refund at Stripe. Nothing is
recorded until Stripe confirms: `charge.refunded` for that PaymentIntent
(`record_unapplied_refund`) adds a negative row keyed
`<charge id>:refund:<cumulative amount refunded>`, the payments module's pattern, so a
duplicate or older delivery records nothing; a full refund completes the admin's task.
(`refund.*` events are not used: `charge.refunded` carries the cumulative amount, which
makes recording exactly-once without reading Stripe back.)
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from app.activity.services import record
from app.billing.models import Invoice, UnappliedPayment
from app.billing.requests import RequestRefused, create_admin_task
from app.crm.models import Task
from app.crm.tasks.services import complete_task
from app.extensions import db
from app.integrations.payments import RefundRequest

PAYMENT_EVENTS = ("checkout.session.completed", "checkout.session.async_payment_succeeded",
                  "payment_intent.succeeded")
ZERO_DECIMAL = frozenset({"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf",
                          "ugx", "vnd", "vuv", "xaf", "xof", "xpf"})


class RefundRefused(Exception):
    """A refund that can't be asked for; the message is for the admin."""


def format_minor(amount_minor: int, currency: str) -> str:
    """$12.34, or "12.34 EUR" / "1200 JPY" for other currencies."""
    currency = (currency or "").lower()
    value = Decimal(amount_minor) if currency in ZERO_DECIMAL else (Decimal(amount_minor) / 100)
    if currency == "usd":
        return f"${value:,.2f}"
    return f"{value:,.2f} {currency.upper()}" if currency not in ZERO_DECIMAL else f"{value:,} {currency.upper()}"


@dataclass(frozen=True)
class Money:
    """What one payment event says was taken."""
    payment_intent_id: str
    charge_id: str | None
    amount_minor: int
    currency: str
    invoice_id: uuid.UUID | None
    customer_email: str | None


def money_taken(payload: dict) -> Money | None:
    """The money a payment event reports as taken, or None (not a payment, not paid yet)."""
    event_type = payload.get("type")
    obj = (payload.get("data") or {}).get("object") or {}
    if event_type not in PAYMENT_EVENTS:
        return None
    if event_type == "payment_intent.succeeded":
        intent, amount, charge = obj.get("id"), obj.get("amount_received"), obj.get("latest_charge")
        email = obj.get("receipt_email")
    else:
        if obj.get("payment_status") != "paid":
            return None
        intent, amount, charge = obj.get("payment_intent"), obj.get("amount_total"), None
        email = (obj.get("customer_details") or {}).get("email")
    if not isinstance(intent, str) or not intent.startswith("pi_") \
            or not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        return None
    raw = (obj.get("metadata") or {}).get("invoice_id") or obj.get("client_reference_id")
    try:
        invoice_id = uuid.UUID(str(raw)) if raw else None
    except ValueError:
        invoice_id = None
    return Money(intent, charge if isinstance(charge, str) else None, amount,
                 str(obj.get("currency") or "").lower(), invoice_id,
                 email if isinstance(email, str) else None)


def held(payment_intent_id: str) -> UnappliedPayment | None:
    """The received row of an unapplied PaymentIntent."""
    return db.session.scalar(select(UnappliedPayment).where(UnappliedPayment.stripe_key == payment_intent_id))


def still_held_minor(row: UnappliedPayment) -> int:
    """What is left of the money after the refunds recorded so far."""
    return int(db.session.scalar(select(func.coalesce(func.sum(UnappliedPayment.amount_minor), 0))
                                 .where(UnappliedPayment.payment_intent_id == row.payment_intent_id)))


def hold_unapplied_payment(payload: dict, *, reason: str, webhook_event_id=None) -> UnappliedPayment | None:
    """Record money Stripe took that was not applied, once per PaymentIntent, and give an
    admin a task. None when the event reports no money taken (or it is already held)."""
    money = money_taken(payload)
    if money is None:
        return None
    invoice = db.session.get(Invoice, money.invoice_id) if money.invoice_id else None
    created = payload.get("created")
    occurred = datetime.fromtimestamp(created, UTC) if isinstance(created, int) else datetime.now(UTC)
    row_id = db.session.scalar(
        pg_insert(UnappliedPayment).values(
            id=uuid.uuid4(), stripe_key=money.payment_intent_id, payment_intent_id=money.payment_intent_id,
            charge_id=money.charge_id, amount_minor=money.amount_minor, currency=money.currency,
            invoice_id=invoice.id if invoice else None, company_id=invoice.company_id if invoice else None,
            customer_email=money.customer_email, reason=reason[:1000], webhook_event_id=webhook_event_id,
            occurred_at=occurred)
        .on_conflict_do_nothing(index_elements=["stripe_key"]).returning(UnappliedPayment.id))
    if row_id is None:
        return None  # another event of the same payment got here first: one row, one task
    row = db.session.get(UnappliedPayment, row_id)
    task = _task_for_admins(row, invoice, reason)
    if task is not None:
        row.task_id = task.id
        db.session.flush()
    return row


def _customer(row: UnappliedPayment, invoice: Invoice | None) -> str:
    if invoice is not None:
        return invoice.company.name
    return row.customer_email or "an unknown customer"


def _task_for_admins(row: UnappliedPayment, invoice: Invoice | None, reason: str):
    amount = format_minor(row.amount_minor, row.currency)
    customer = _customer(row, invoice)
    where = f"invoice {invoice.invoice_number}" if invoice else "no invoice of ours"
    description = (f"Stripe took {amount} from {customer} for {where}, and the CRM did not apply it.\n"
                   f"Reason: {reason}\n"
                   f"PaymentIntent: {row.payment_intent_id}\n"
                   "Refund it (or settle it with the customer) on /invoices/unapplied.")
    try:
        return create_admin_task(title=f"Refund or resolve {amount} paid by {customer} (not applied)",
                                 description=description, actor=None,
                                 company=invoice.company if invoice else None,
                                 lead=invoice.lead if invoice else None, urgent=True)
    except RequestRefused:
        return None  # no admin yet: the unapplied payments page still lists it


def refund_unapplied_payment(row: UnappliedPayment, *, actor, backend) -> str:
    """Ask the payments provider to refund what is still held; returns its refund id.
    Records nothing but the activity: the refund row comes with Stripe's confirmation."""
    row = db.session.scalar(select(UnappliedPayment).where(UnappliedPayment.id == row.id).with_for_update())
    remaining = still_held_minor(row)
    if remaining <= 0:
        raise RefundRefused("This payment is already refunded.")
    refund_id = backend.refund(RefundRequest(
        payment_intent_id=row.payment_intent_id, charge_id=row.charge_id, amount_minor=remaining,
        currency=row.currency, invoice_id=str(row.invoice_id) if row.invoice_id else None,
        idempotency_key=f"unapplied-{row.id}-refund-{remaining}",
        metadata={"unapplied_payment_id": str(row.id), "source": "crm"},
        payment_amount_minor=row.amount_minor, already_refunded_minor=row.amount_minor - remaining))
    record("payment.refund_requested",
           f"Asked Stripe to refund {format_minor(remaining, row.currency)} not applied "
           f"({row.payment_intent_id})", actor=actor, company=row.company_id,
           detail={"unapplied_payment_id": row.id, "refund_id": refund_id, "amount_minor": remaining,
                   "currency": row.currency, "invoice_id": row.invoice_id})
    return refund_id


def record_unapplied_refund(charge: dict, *, refunded_at: datetime | None = None) -> UnappliedPayment | None:
    """Record what a `charge.refunded` for an unapplied payment adds to its recorded
    refunds, as a negative row. None when there is nothing new (a duplicate, an older
    state); raises ValueError when the refund does not fit the payment."""
    row = held(charge.get("payment_intent") or "")
    if row is None:
        raise LookupError("not an unapplied payment")
    row = db.session.scalar(select(UnappliedPayment).where(UnappliedPayment.id == row.id).with_for_update())
    cumulative, charge_id = charge.get("amount_refunded"), charge.get("id")
    if not isinstance(cumulative, int) or isinstance(cumulative, bool) or not isinstance(charge_id, str):
        raise ValueError("the refunded charge has no amount_refunded or id")
    if str(charge.get("currency") or "").lower() != row.currency:
        raise ValueError(f"refund currency {charge.get('currency')!r} is not {row.currency}")
    if cumulative <= 0 or cumulative > row.amount_minor:
        raise ValueError(f"refunded {cumulative} doesn't fit the payment of {row.amount_minor}")
    key = f"{charge_id}:refund:{cumulative}"
    if db.session.scalar(select(UnappliedPayment.id).where(UnappliedPayment.stripe_key == key)):
        return None
    already = row.amount_minor - still_held_minor(row)
    delta = cumulative - already
    if delta <= 0:
        return None
    refund = UnappliedPayment(
        stripe_key=key, payment_intent_id=row.payment_intent_id, charge_id=charge_id, amount_minor=-delta,
        currency=row.currency, invoice_id=row.invoice_id, company_id=row.company_id,
        customer_email=row.customer_email, reason=f"Refund of {row.payment_intent_id}",
        task_id=row.task_id, occurred_at=refunded_at or datetime.now(UTC))
    db.session.add(refund)
    db.session.flush()
    record("payment.refunded", f"Refunded {format_minor(delta, row.currency)} that was not applied "
           f"({row.payment_intent_id})", company=row.company_id,
           detail={"unapplied_payment_id": row.id, "refund_row_id": refund.id, "amount_minor": -delta,
                   "stripe_key": key, "invoice_id": row.invoice_id})
    if cumulative == row.amount_minor and row.task_id is not None:
        _complete_task(row.task_id)
    return refund


def _complete_task(task_id) -> None:
    task = db.session.get(Task, task_id)
    if task is not None:
        complete_task(task, actor=None)


@dataclass
class HeldPayment:
    row: UnappliedPayment
    refunded_minor: int

    @property
    def remaining_minor(self) -> int:
        return self.row.amount_minor - self.refunded_minor


def list_unapplied(limit: int = 200, *, invoice_id=None) -> list[HeldPayment]:
    """The received rows (of one invoice, or all), newest first, with what was refunded of each."""
    refunded = (select(UnappliedPayment.payment_intent_id, func.sum(-UnappliedPayment.amount_minor).label("r"))
                .where(UnappliedPayment.amount_minor < 0).group_by(UnappliedPayment.payment_intent_id)
                .subquery())
    rows = db.session.execute(
        select(UnappliedPayment, func.coalesce(refunded.c.r, 0))
        .outerjoin(refunded, refunded.c.payment_intent_id == UnappliedPayment.payment_intent_id)
        .where(UnappliedPayment.amount_minor > 0,
               *([UnappliedPayment.invoice_id == invoice_id] if invoice_id is not None else []))
        .order_by(UnappliedPayment.occurred_at.desc(), UnappliedPayment.id).limit(limit)).all()
    return [HeldPayment(row, int(r)) for row, r in rows]


__all__ = ["HeldPayment", "RefundRefused", "format_minor", "held", "hold_unapplied_payment",
           "list_unapplied", "money_taken", "record_unapplied_refund", "refund_unapplied_payment",
           "still_held_minor"]
