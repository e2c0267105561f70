"""The rep's side of the customer link (on the `billing` blueprint): send / resend,
revoke, payment options, manual payments, and the signature certificate."""
from __future__ import annotations

from datetime import UTC, date, datetime, time

from flask import flash, redirect, request, url_for
from sqlalchemy import select

from app.auth.permissions import BILLING_ADMIN, INVOICES, can, require
from app.billing import bp
from app.billing.models import Invoice, Payment, PaymentMethod
from app.billing.payments import (
    MANUAL_METHODS,
    PaymentRefused,
    is_refundable,
    lock_invoice,
    payment_options,
    record_manual_payment,
    refund_stripe_payment,
    refunded_so_far,
    set_payment_options,
)
from app.billing.requests import REASONS, RequestRefused, request_admin_action
from app.billing.sending import (
    SendRefused,
    latest_delivery,
    recipient,
    revoke_link,
    seller_profile,
    send_invoice,
)
from app.billing.signing import signature_of
from app.errors import abort_with
from app.extensions import db
from app.htmx import render, toast, wants_fragment


def _invoice_or_404(invoice_id, *, lock: bool = False) -> Invoice:
    invoice = lock_invoice(invoice_id) if lock else db.session.get(Invoice, invoice_id)
    if invoice is None:
        abort_with(404, "That invoice does not exist.")
    return invoice


def panel_context(invoice: Invoice, **extra) -> dict:
    payments = db.session.scalars(
        select(Payment).where(Payment.invoice_id == invoice.id).order_by(Payment.paid_at, Payment.created_at)
    ).all()
    from flask_login import current_user

    to, _ = recipient(invoice)
    return {"invoice": invoice, "payments": payments, "options": payment_options(invoice),
            "recipient": to, "manual_methods": MANUAL_METHODS, "errors": {}, "form": {},
            "today": date.today().isoformat(), "may_decide": can(current_user, BILLING_ADMIN),
            "refundable": {p.id: p.amount - refunded_so_far(p) for p in payments if is_refundable(p)},
            "reasons": REASONS, "delivery": latest_delivery(invoice), **extra}


def _answer(invoice: Invoice, message: str, level: str = "success", status: int = 200, **extra):
    if request.headers.get("HX-Request") == "true":
        response = render("billing/public/sharing.html", block="panel", status=status,
                          context=panel_context(invoice, **extra))
        return toast(response, message, level)
    if status >= 400:
        flash(message, "error")
        return render("billing/public/sharing.html", status=status, context=panel_context(invoice, **extra))
    flash(message, level)
    return redirect(url_for("billing.invoice_sharing", invoice_id=invoice.id), code=303)


@bp.get("/invoices/<uuid:invoice_id>/sharing")
@require(INVOICES)
def invoice_sharing(invoice_id):
    return render("billing/public/sharing.html", context=panel_context(_invoice_or_404(invoice_id)))


@bp.get("/invoices/<uuid:invoice_id>/sharing/delivery")
@require(INVOICES)
def invoice_delivery(invoice_id):
    """The e-mail's delivery state alone: polled while it is sending."""
    invoice = _invoice_or_404(invoice_id)
    if not wants_fragment():
        return redirect(url_for("billing.invoice_sharing", invoice_id=invoice.id), code=303)
    return render("billing/public/sharing.html", block="delivery",
                  context={"invoice": invoice, "delivery": latest_delivery(invoice)})


@bp.post("/invoices/<uuid:invoice_id>/send")
@require(INVOICES)
def send(invoice_id):
    from flask_login import current_user

    invoice = _invoice_or_404(invoice_id, lock=True)
    try:
        link = send_invoice(invoice, actor=current_user)
    except SendRefused as exc:
        db.session.rollback()
        return _answer(_invoice_or_404(invoice_id), str(exc), "error", status=422)
    db.session.commit()
    to, _ = recipient(invoice)
    return _answer(invoice, f"Sending to {to}… The previous link, if any, no longer works.",
                   new_link=link)


@bp.post("/invoices/<uuid:invoice_id>/link/revoke")
@require(INVOICES)
def revoke(invoice_id):
    from flask_login import current_user

    invoice = _invoice_or_404(invoice_id, lock=True)
    try:
        revoke_link(invoice, actor=current_user)
    except SendRefused as exc:
        db.session.rollback()
        return _answer(_invoice_or_404(invoice_id), str(exc), "error", status=409)
    db.session.commit()
    return _answer(invoice, "Link revoked: the customer's page now says it is not available.")


@bp.post("/invoices/<uuid:invoice_id>/payment-options")
@require(INVOICES)
def update_payment_options(invoice_id):
    from flask_login import current_user

    invoice = _invoice_or_404(invoice_id, lock=True)
    allow_overpayment = request.form.get("allow_overpayment") == "yes"
    if not can(current_user, BILLING_ADMIN):
        if allow_overpayment != bool(payment_options(invoice).allow_overpayment):
            abort_with(403, REASONS["overpayment"])
    set_payment_options(invoice, actor=current_user,
                        allow_partial=request.form.get("allow_partial") == "yes",
                        allow_overpayment=allow_overpayment)
    db.session.commit()
    return _answer(invoice, "Payment options saved.")


def _paid_at(raw: str | None) -> datetime | None:
    if not raw:
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError as exc:
        raise PaymentRefused("Enter the date as YYYY-MM-DD.") from exc
    if day > date.today():
        raise PaymentRefused("The payment date can't be in the future.")
    now = datetime.now(UTC)
    return now if day == now.date() else datetime.combine(day, time(12, 0), tzinfo=UTC)


@bp.post("/invoices/<uuid:invoice_id>/payments")
@require(BILLING_ADMIN)
def record_payment(invoice_id):
    from flask_login import current_user

    invoice = _invoice_or_404(invoice_id)
    form = {k: request.form.get(k, "") for k in ("amount", "method", "reference", "paid_on", "notes")}
    try:
        method = PaymentMethod(form["method"]) if form["method"] else None
        if method is None:
            raise PaymentRefused("Choose how it was paid.")
        payment = record_manual_payment(invoice, actor=current_user, amount=form["amount"],
                                        method=method, reference=form["reference"],
                                        paid_at=_paid_at(form["paid_on"]), notes=form["notes"])
    except (PaymentRefused, ValueError) as exc:
        db.session.rollback()
        message = str(exc) if isinstance(exc, PaymentRefused) else "Choose check, cash, wire or other."
        return _answer(_invoice_or_404(invoice_id), message, "error", status=422,
                       errors={"payment": message}, form=form)
    db.session.commit()
    return _answer(invoice, f"Recorded ${payment.amount:,.2f}.")


@bp.post("/invoices/<uuid:invoice_id>/payments/<uuid:payment_id>/refund")
@require(BILLING_ADMIN)
def refund_payment(invoice_id, payment_id):
    """An admin refunds (part of) a Stripe payment; recorded when Stripe confirms it."""
    from flask_login import current_user

    from app.integrations.payments import RefundUnavailable, get_payments_backend

    invoice = _invoice_or_404(invoice_id)
    payment = db.session.get(Payment, payment_id)
    if payment is None or payment.invoice_id != invoice.id:
        abort_with(404, "That payment is not on this invoice.")
    try:
        refund_stripe_payment(payment, actor=current_user, amount=request.form.get("amount"),
                              backend=get_payments_backend())
    except (PaymentRefused, RefundUnavailable) as exc:
        db.session.rollback()
        return _answer(_invoice_or_404(invoice_id), f"Not refunded: {exc}", "error", status=422,
                       errors={"refund": str(exc)})
    db.session.commit()  # (sends the sandbox's confirmation job)
    return _answer(invoice, "Refund asked of Stripe: it shows here when Stripe confirms it.")


@bp.post("/invoices/<uuid:invoice_id>/requests")
@require(INVOICES)
def request_action(invoice_id):
    """A rep asks an admin to void, record a payment, refund or accept an overpayment."""
    from flask_login import current_user

    invoice = _invoice_or_404(invoice_id)
    kind = request.form.get("kind", "")
    back = url_for("billing.invoice" if kind == "void" else "billing.invoice_sharing", invoice_id=invoice.id)
    try:
        task = request_admin_action(invoice, kind=kind, actor=current_user, note=request.form.get("note"))
    except RequestRefused as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(back, code=303)
    db.session.commit()
    flash(f"Asked {task.assigned_to.full_name}: “{task.title}” is on their tasks.", "success")
    return redirect(back, code=303)


@bp.get("/invoices/<uuid:invoice_id>/certificate")
@require(INVOICES)
def invoice_certificate(invoice_id):
    invoice = _invoice_or_404(invoice_id)
    if invoice.signed_at is None:
        abort_with(404, "This invoice is not signed yet.")
    return render("billing/public/certificate.html", context=dict(invoice=invoice, seller=seller_profile(),
                  signature=signature_of(invoice), layout="base.html", token=None))
