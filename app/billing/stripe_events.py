"""Applying a stored Stripe event to our invoices (run by a job, after the webhook stored it).

- `checkout.session.completed` pays only when its payment_status is "paid" (a card);
  with a bank account it arrives "unpaid" and the money comes later with
  `checkout.session.async_payment_succeeded` / `payment_intent.succeeded`.
- Those three record ONE payment: the row is keyed by the PaymentIntent id.
- `charge.refunded` records the refund as a new negative row (see app.billing.payments).
- Anything that doesn't fit (unknown invoice, currency, more than the balance, a void
  invoice) marks the event with an error, changes nothing else, and says so in the
  company's activity; money it reports taken is held for an admin (app.billing.unapplied:
  a task, a refund), and that money's `charge.refunded` is recorded there.
- Other event types are marked processed and ignored.

The event row is locked (FOR UPDATE) while it is applied, and a processed event is
skipped: a job that runs twice, or two jobs for one event, apply it once.
"""
from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime

from app.activity.services import record
from app.billing.models import Invoice
from app.billing.payments import (
    PaymentMismatch,
    PaymentNotYetRecorded,
    record_stripe_payment,
    record_stripe_refund,
)
from app.billing.unapplied import held, hold_unapplied_payment, record_unapplied_refund
from app.extensions import db
from app.webhooks.models import WebhookEvent
from app.webhooks.services import take_stored_event

log = logging.getLogger("crm.billing.stripe")

PAYMENT_EVENTS = ("checkout.session.completed", "checkout.session.async_payment_succeeded",
                  "payment_intent.succeeded")


class EventNotApplicable(Exception):
    """The event can't be applied: recorded as its error."""


def _invoice_id(obj: dict) -> uuid.UUID:
    raw = (obj.get("metadata") or {}).get("invoice_id") or obj.get("client_reference_id")
    try:
        return uuid.UUID(str(raw))
    except (TypeError, ValueError) as exc:
        raise EventNotApplicable(f"no usable metadata.invoice_id ({raw!r})") from exc


def _when(payload: dict) -> datetime:
    created = payload.get("created")
    return datetime.fromtimestamp(created, UTC) if isinstance(created, int) else datetime.now(UTC)


def _apply(payload: dict) -> str:
    """Apply one event; returns what happened (for the log)."""
    event_type = payload.get("type")
    obj = (payload.get("data") or {}).get("object") or {}
    if event_type in PAYMENT_EVENTS:
        if event_type.startswith("checkout.session.") and obj.get("payment_status") != "paid":
            return "not paid yet"
        if event_type == "payment_intent.succeeded":
            intent, amount = obj.get("id"), obj.get("amount_received")
        else:
            intent, amount = obj.get("payment_intent"), obj.get("amount_total")
        if isinstance(intent, str) and held(intent):
            # One fate per payment: an earlier event of it was not applied (and went to an
            # admin); a later one is not applied either, whatever changed on the invoice.
            return "held as not applied"
        payment = record_stripe_payment(
            _invoice_id(obj), payment_intent_id=intent, amount_cents=amount,
            currency=obj.get("currency"), paid_at=_when(payload), source=payload.get("id"))
        return "payment recorded" if payment else "payment already recorded"
    if event_type == "charge.refunded":
        if held(obj.get("payment_intent") or ""):  # money we never applied: its own ledger
            try:
                refund = record_unapplied_refund(obj, refunded_at=_when(payload))
            except ValueError as exc:
                raise EventNotApplicable(str(exc)) from exc
            return "unapplied refund recorded" if refund else "unapplied refund already recorded"
        refund = record_stripe_refund(
            _invoice_id(obj), charge_id=obj.get("id"), payment_intent_id=obj.get("payment_intent"),
            amount_refunded_cents=obj.get("amount_refunded"), charge_amount_cents=obj.get("amount"),
            currency=obj.get("currency"), refunded_at=_when(payload))
        return "refund recorded" if refund else "refund already recorded"
    return "ignored"


def apply_stripe_event(webhook_event_id) -> str:
    """Apply the stored event once. Commits. Raises PaymentNotYetRecorded (after saving
    the reason) when a refund came before its payment, so the job is retried later."""
    event, nothing = take_stored_event(webhook_event_id)
    if event is None:
        return nothing
    savepoint = db.session.begin_nested()
    try:
        outcome = _apply(event.payload)
        savepoint.commit()
    except PaymentNotYetRecorded as exc:
        savepoint.rollback()
        event.error = f"waiting: {exc}"
        db.session.commit()
        raise
    except (PaymentMismatch, EventNotApplicable) as exc:
        savepoint.rollback()
        outcome = f"refused: {exc}"
        event.error = str(exc)[:1000]
        _record_refusal(event, str(exc))
        # Money taken but not applied reaches a person (a task for an admin, a refund).
        hold_unapplied_payment(event.payload, reason=str(exc), webhook_event_id=event.id)
    else:
        event.error = None
    event.processed_at = datetime.now(UTC)
    db.session.commit()
    log.info("stripe event=%s type=%s outcome=%s", event.provider_event_id, event.event_type, outcome)
    return outcome


def _record_refusal(event: WebhookEvent, reason: str) -> None:
    obj = (event.payload.get("data") or {}).get("object") or {}
    invoice = None
    try:
        invoice = db.session.get(Invoice, _invoice_id(obj))
    except EventNotApplicable:
        pass
    summary = f"Stripe {event.event_type} not applied: {reason}"
    if invoice is not None:
        summary = f"Stripe {event.event_type} not applied to {invoice.invoice_number}: {reason}"
    record("payment.rejected", summary,
           company=invoice.company_id if invoice else None, lead=invoice.lead_id if invoice else None,
           detail={"webhook_event_id": event.id, "stripe_event_id": event.provider_event_id,
                   "invoice_id": invoice.id if invoice else None, "reason": reason[:500]})
