"""Money decisions a rep asks an admin for: a task assigned to the owner or an admin.

Voiding an invoice, recording a manual (check, cash, wire) payment, refunding and accepting
overpayments are the owner's and admins' (permission BILLING_ADMIN). A rep sees those
controls disabled with the reason (`REASONS`), and a "Request …" action instead, which
calls `request_admin_action`: one task for an admin, linked to the invoice's company and
lead, saying who asked for what and why. The server refuses the action itself (403).
"""
from __future__ import annotations

from app.billing.models import Invoice
from app.crm.models import TaskPriority
from app.crm.tasks.services import create_task_for_an_admin

# What a rep is told next to each disabled control (title / aria-describedby text).
REASONS = {
    "void": "Only an owner or admin can void an invoice.",
    "payment": "Only an owner or admin can record a manual payment.",
    "overpayment": "Only an owner or admin can accept payments above the balance.",
    "refund": "Only an owner or admin can refund a payment.",
}
ACTIONS = {
    "void": "Void {number}",
    "payment": "Record a manual payment on {number}",
    "overpayment": "Accept an overpayment on {number}",
    "refund": "Refund a payment on {number}",
}
MAX_NOTE = 2000


class RequestRefused(Exception):
    """A request that can't be made; the message is for the person who asked."""


def create_admin_task(*, title: str, description: str, actor, company=None, lead=None, urgent=False):
    """One task for an admin (the crm's task service: it records the activity)."""
    task = create_task_for_an_admin(title=title, description=description, actor=actor, company=company,
                                    lead=lead, priority=TaskPriority.URGENT if urgent else TaskPriority.HIGH)
    if task is None:
        raise RequestRefused("There is no active owner or admin to ask.")
    return task


def request_admin_action(invoice: Invoice, *, kind: str, actor, note: str | None):
    """A rep's request for a money decision on `invoice`: a task for an admin."""
    if kind not in ACTIONS:
        raise RequestRefused("Choose what to ask for.")
    note = " ".join((note or "").split())
    if not note:
        raise RequestRefused("Say why (an admin reads it in the task).")
    if len(note) > MAX_NOTE:
        raise RequestRefused(f"Keep it under {MAX_NOTE} characters.")
    title = f"{ACTIONS[kind].format(number=invoice.invoice_number)} (asked by {actor.full_name})"
    description = (f"{actor.full_name} asks: {ACTIONS[kind].format(number=invoice.invoice_number)} "
                   f"for {invoice.company.name}.\nWhy: {note}\n"
                   f"Balance due: ${invoice.balance_due:,.2f} of ${invoice.total:,.2f}.\n"
                   f"Invoice: /invoices/{invoice.id}")
    return create_admin_task(title=title, description=description, actor=actor,
                             company=invoice.company, lead=invoice.lead)


__all__ = ["ACTIONS", "REASONS", "RequestRefused", "create_admin_task",
           "request_admin_action"]
