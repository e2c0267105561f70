"""The customer's pages: /pay/<token> (no sign-in, no app navigation).

Read the invoice and its agreement, sign, pay (Checkout: the sandbox in dev and
tests, Stripe in production), print the signed invoice and its signature
certificate. A wrong, revoked or void token gets the same plain "not available"
page (404) in every case, and every page here is rate limited per client IP.
"""
from __future__ import annotations

from flask import Blueprint, current_app, redirect, request, url_for

from app.billing.models import Invoice
from app.billing.payments import (
    CheckoutRefused,
    PaymentRefused,
    can_pay_online,
    checkout_amount,
    payment_options,
    to_cents,
)
from app.billing.sending import invoice_for_token, recipient, seller_profile
from app.billing.signing import (
    CONSENT_TEXT,
    SigningRefused,
    shown_hashes,
    sign_invoice,
    signature_of,
)
from app.extensions import db, limiter
from app.htmx import render
from app.integrations.payments import CheckoutRequest, CheckoutUnavailable, get_payments_backend
from app.integrations.sandbox_checkout import METHODS, load_session
from app.queue import enqueue
from app.urls import absolute_url

bp = Blueprint("pay", __name__, url_prefix="/pay")

PUBLIC_RATE_LIMIT = "30 per minute"


def client_ip() -> str:
    """The client's address: X-Forwarded-For only counts when TRUSTED_PROXY_COUNT says
    how many proxies in front of us append to it (their entries are the last ones)."""
    proxies = int(current_app.config.get("TRUSTED_PROXY_COUNT") or 0)
    if proxies > 0:
        forwarded = [p.strip() for p in request.headers.get("X-Forwarded-For", "").split(",") if p.strip()]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.remote_addr or "unknown"


limiter.limit(PUBLIC_RATE_LIMIT, key_func=client_ip)(bp)


def not_available():
    return render("billing/public/not_available.html", status=404)


def page_context(invoice: Invoice, token: str) -> dict:
    agreement_hash, content_hash, agreement = shown_hashes(invoice)
    options = payment_options(invoice)
    return {
        "invoice": invoice,
        "token": token,
        "seller": seller_profile(),
        "agreement": agreement,
        "agreement_sha256": agreement_hash,
        "content_sha256": content_hash,
        "consent_text": CONSENT_TEXT,
        "signature": signature_of(invoice) if invoice.signed_at else None,
        "allow_partial": options.allow_partial,
        "can_pay": can_pay_online(invoice),
        "errors": {},
        "form": {},
    }


@bp.get("/<token>")
def invoice_page(token):
    invoice = invoice_for_token(token)
    if invoice is None:
        return not_available()
    notice = {"cancelled": "Payment cancelled: nothing was charged."}.get(request.args.get("notice", ""))
    return render("billing/public/invoice.html", context=dict(notice=notice, **page_context(invoice, token)))


@bp.post("/<token>/sign")
def sign(token):
    invoice = invoice_for_token(token)
    if invoice is None:
        return not_available()
    form = {"name": request.form.get("name", ""), "consent": request.form.get("consent") == "yes"}
    try:
        sign_invoice(invoice, name=form["name"], consent=form["consent"], ip_addr=client_ip(),
                     user_agent=request.headers.get("User-Agent"),
                     agreement_sha256=request.form.get("agreement_sha256"),
                     content_sha256_shown=request.form.get("content_sha256"))
    except SigningRefused as exc:
        db.session.rollback()
        if exc.status == 404:
            return not_available()
        invoice = invoice_for_token(token)
        if invoice is None:
            return not_available()
        ctx = page_context(invoice, token)
        ctx.update(errors={exc.field or "form": str(exc)}, form=form)
        return render("billing/public/invoice.html", block="sign", status=exc.status, context=ctx)
    db.session.commit()
    return redirect(url_for("pay.invoice_page", token=token, _anchor="pay"), code=303)


@bp.post("/<token>/checkout")
def checkout(token):
    invoice = invoice_for_token(token)
    if invoice is None:
        return not_available()
    try:
        amount = checkout_amount(invoice, request.form.get("amount"))
    except PaymentRefused as exc:
        ctx = page_context(invoice, token)
        ctx.update(errors={"pay": str(exc)}, form={"amount": request.form.get("amount", "")})
        status = exc.status if isinstance(exc, CheckoutRefused) else 422
        return render("billing/public/invoice.html", block="pay", status=status, context=ctx)
    email, _ = recipient(invoice)
    try:
        url = get_payments_backend().create_checkout(CheckoutRequest(
            invoice_id=str(invoice.id), invoice_number=invoice.invoice_number,
            company_id=str(invoice.company_id), company_name=invoice.company.name,
            customer_email=email, amount=amount,
            success_url=absolute_url("pay.thanks", token=token),
            cancel_url=absolute_url("pay.invoice_page", token=token, notice="cancelled"),
            token=token,
            idempotency_key=f"checkout-{invoice.id}-{invoice.payment_token[:16]}-{to_cents(amount)}"
                            f"-{to_cents(invoice.amount_paid)}",
        ))
    except CheckoutUnavailable:
        db.session.rollback()
        ctx = page_context(invoice_for_token(token), token)
        ctx.update(errors={"pay": "We couldn't open the payment page just now. Nothing was charged: "
                                  "please try again in a minute."},
                   form={"amount": request.form.get("amount", "")})
        return render("billing/public/invoice.html", block="pay", status=503, context=ctx)
    db.session.commit()  # the stripe backend may have stored the company's Customer id
    if request.headers.get("HX-Request") == "true":
        response = current_app.response_class(status=204)
        response.headers["HX-Redirect"] = url
        return response
    return redirect(url, code=303)


@bp.get("/<token>/thanks")
def thanks(token):
    invoice = invoice_for_token(token)
    if invoice is None:
        return not_available()
    return render("billing/public/thanks.html", block="status", context=dict(invoice=invoice, token=token,
                  seller=seller_profile()))


@bp.get("/<token>/certificate")
def certificate(token):
    invoice = invoice_for_token(token)
    if invoice is None or invoice.signed_at is None:
        return not_available()
    return render("billing/public/certificate.html", context=dict(invoice=invoice, seller=seller_profile(),
                  signature=signature_of(invoice), layout="public_base.html", token=token))


@bp.route("/<token>/sandbox-checkout", methods=["GET", "POST"])
def sandbox_checkout(token):
    """The sandbox's stand-in for Stripe's hosted Checkout page (PAYMENTS_BACKEND=sandbox)."""
    if (current_app.config.get("PAYMENTS_BACKEND") or "sandbox").lower() != "sandbox":
        return not_available()
    invoice = invoice_for_token(token)
    session = load_session(request.values.get("session"))
    if invoice is None or session is None or session.get("invoice_id") != str(invoice.id):
        return not_available()
    if request.method == "GET":
        return render("billing/public/sandbox_checkout.html", context=dict(invoice=invoice, token=token,
                      checkout=session, amount=session["amount"] / 100, methods=METHODS))
    method = request.form.get("method", "card")
    if method not in METHODS:
        method = "card"
    webhook_url = absolute_url("webhooks.stripe_webhook")
    enqueue("billing", "app.integrations.sandbox_checkout.deliver_events", webhook_url, session,
            method, job_id=f"sandbox-deliver-{session['id']}")
    db.session.commit()  # sends the job
    return redirect(session["success_url"], code=303)
