"""Billing's domain events, for packages that act on them without billing importing them.

An invoice that is both signed and fully paid (whichever came last) sends its devices to
the warehouse: fulfilment registers a listener with `@on_invoice_signed_and_paid`; the
payment services and signing emit through `invoice_signed_and_paid` when the invoice
becomes so. Computing an invoice's totals or balance emits nothing. Listeners run inside
the caller's unit of work (they flush; they never commit). Same shape as
`app.crm.tags.events`.
"""
from __future__ import annotations

from collections.abc import Callable

_signed_and_paid_listeners: list[Callable] = []


def on_invoice_signed_and_paid(listener: Callable) -> Callable:
    """Register `listener(invoice, actor)`; usable as a decorator."""
    if listener not in _signed_and_paid_listeners:
        _signed_and_paid_listeners.append(listener)
    return listener


def invoice_signed_and_paid(invoice, actor) -> None:
    for listener in list(_signed_and_paid_listeners):
        listener(invoice, actor)


# Changes the books care about (app.quickbooks writes its sync ledger rows from them):
# "invoice.sent", "invoice.updated" (a sent invoice's lines or terms), "invoice.voided",
# "payment.recorded", "payment.refunded" (a refund row). Emitted after the change is flushed.
_change_listeners: list[Callable] = []


def on_billing_change(listener: Callable) -> Callable:
    """Register `listener(kind, obj, actor)`; usable as a decorator."""
    if listener not in _change_listeners:
        _change_listeners.append(listener)
    return listener


def billing_changed(kind: str, obj, actor=None) -> None:
    for listener in list(_change_listeners):
        listener(kind, obj, actor)
