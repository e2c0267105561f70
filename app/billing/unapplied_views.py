"""Money Stripe took that was not applied: the list, and the admin's refund."""
from __future__ import annotations

from flask import flash, redirect, url_for
from flask_login import current_user

from app.auth.permissions import BILLING_ADMIN, INVOICES, can, require
from app.billing import bp
from app.billing.models import UnappliedPayment
from app.billing.requests import REASONS
from app.billing.unapplied import (
    RefundRefused,
    format_minor,
    list_unapplied,
    refund_unapplied_payment,
)
from app.errors import get_or_404
from app.extensions import db
from app.htmx import render
from app.integrations.payments import RefundUnavailable, get_payments_backend


@bp.get("/invoices/unapplied")
@require(INVOICES)
def unapplied_payments():
    return render("billing/unapplied.html", context=dict(held=list_unapplied(), format_minor=format_minor, may_refund=can(current_user, BILLING_ADMIN), reasons=REASONS))


@bp.post("/invoices/unapplied/<payment_id>/refund")
@require(BILLING_ADMIN)
def refund_unapplied(payment_id):
    row = get_or_404(UnappliedPayment, payment_id)
    if row.amount_minor <= 0:
        return redirect(url_for("billing.unapplied_payments"), code=303)
    try:
        refund_unapplied_payment(row, actor=current_user, backend=get_payments_backend())
    except (RefundRefused, RefundUnavailable) as exc:
        db.session.rollback()
        flash(f"Not refunded: {exc}", "error")
        return redirect(url_for("billing.unapplied_payments"), code=303)
    db.session.commit()  # (sends the sandbox's confirmation job)
    flash("Refund asked of Stripe: it is recorded here when Stripe confirms it.", "success")
    return redirect(url_for("billing.unapplied_payments"), code=303)
