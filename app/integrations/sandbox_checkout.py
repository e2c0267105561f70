"""The `sandbox` payments backend: a local stand-in for Stripe Checkout.

`create_checkout` hands out a "session" (signed with SECRET_KEY, so nothing is
stored) and the URL of our own checkout page, /pay/<token>/sandbox-checkout. Its
"Pay" button enqueues `deliver_events`, which, like Stripe, posts the events of a
successful payment to POST /webhooks/stripe over HTTP, asynchronously, with a
Stripe-Signature header computed exactly as Stripe computes it:
`t=<unix seconds>,v1=<hex HMAC-SHA256(secret, f"{t}.{raw body}")>`.

The events have the shapes of ../shared/samples/stripe/*.json: a card payment is
`checkout.session.completed` (payment_status "paid") + `payment_intent.succeeded`;
a US bank account payment is `checkout.session.completed` ("unpaid"), then
`payment_intent.succeeded` and `checkout.session.async_payment_succeeded`. Ids are
derived from the session, so paying one session twice re-delivers the same events.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
import urllib.request

from flask import current_app, url_for
from itsdangerous import BadSignature, URLSafeTimedSerializer

from app.billing.payments import to_cents
from app.integrations.payments import CheckoutRequest, RefundRequest
from app.queue import enqueue
from app.urls import absolute_url
from app.webhooks.secrets import webhook_secret

SALT = "sandbox-checkout"
SESSION_MAX_AGE = 24 * 3600
API_VERSION = "2025-09-30.clover"
METHODS = ("card", "us_bank_account")


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=SALT)


class SandboxCheckout:
    def create_checkout(self, checkout: CheckoutRequest) -> str:
        key = secrets.token_hex(12)
        session = {
            "id": f"cs_test_sandbox_{key}",
            "payment_intent": f"pi_sandbox_{key}",
            "charge": f"ch_sandbox_{key}",
            "invoice_id": checkout.invoice_id,
            "invoice_number": checkout.invoice_number,
            "company_name": checkout.company_name,
            "email": checkout.customer_email,
            "amount": to_cents(checkout.amount),
            "currency": "usd",
            "success_url": checkout.success_url,
            "cancel_url": checkout.cancel_url,
            "created": int(time.time()),
        }
        return url_for("pay.sandbox_checkout", token=checkout.token,
                       session=_serializer().dumps(session))

    def refund(self, refund: RefundRequest) -> str:
        """Like Stripe: the refund is taken now and confirmed later by a signed
        `charge.refunded` event posted to our webhook (a job). The event id is derived
        from the payment and the new cumulative refunded amount, so the same refund asked
        twice delivers one event (the webhook stores an event id once)."""
        payment = refund_session(refund)
        cumulative = refund.already_refunded_minor + refund.amount_minor
        enqueue("billing", "app.integrations.sandbox_checkout.deliver_refund", _webhook_url(), payment,
                cumulative, job_id=f"sandbox-refund-{refund.idempotency_key}")
        return "re_sandbox_" + hashlib.sha256(refund.idempotency_key.encode()).hexdigest()[:24]


def load_session(blob: str | None) -> dict | None:
    if not blob:
        return None
    try:
        return _serializer().loads(blob, max_age=SESSION_MAX_AGE)
    except BadSignature:
        return None


# ------------------------------------------------------------------ Stripe-shaped events

def _event_id(session: dict, event_type: str) -> str:
    return "evt_sandbox_" + hashlib.sha256(f"{session['id']}:{event_type}".encode()).hexdigest()[:24]


def _event(session: dict, event_type: str, obj: dict, created: int) -> dict:
    return {
        "id": _event_id(session, event_type),
        "object": "event",
        "api_version": API_VERSION,
        "created": created,
        "data": {"object": obj},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
    }


def _metadata(session: dict) -> dict:
    return {"invoice_id": session["invoice_id"], "source": "crm"}


def checkout_session_object(session: dict, method: str, payment_status: str) -> dict:
    return {
        "id": session["id"],
        "object": "checkout.session",
        "amount_subtotal": session["amount"],
        "amount_total": session["amount"],
        "cancel_url": session["cancel_url"],
        "client_reference_id": session["invoice_id"],
        "created": session["created"],
        "currency": session["currency"],
        "customer": None,
        "customer_details": {"email": session.get("email"), "name": None},
        "livemode": False,
        "metadata": _metadata(session),
        "mode": "payment",
        "payment_intent": session["payment_intent"],
        "payment_method_types": [method],
        "payment_status": payment_status,
        "status": "complete",
        "submit_type": "pay",
        "success_url": session["success_url"],
        "ui_mode": "hosted",
        "url": None,
    }


def payment_intent_object(session: dict, method: str) -> dict:
    return {
        "id": session["payment_intent"],
        "object": "payment_intent",
        "amount": session["amount"],
        "amount_capturable": 0,
        "amount_received": session["amount"],
        "capture_method": "automatic",
        "created": session["created"],
        "currency": session["currency"],
        "customer": None,
        "description": f"Invoice {session['invoice_number']} - {session['company_name']}",
        "latest_charge": session["charge"],
        "livemode": False,
        "metadata": _metadata(session),
        "payment_method_types": [method],
        "receipt_email": session.get("email"),
        "status": "succeeded",
    }


def charge_refunded_object(session: dict, amount_refunded: int) -> dict:
    """What Stripe sends when (part of) the sandbox payment is refunded (tests, demos)."""
    return {
        "id": session["charge"],
        "object": "charge",
        "amount": session["amount"],
        "amount_captured": session["amount"],
        "amount_refunded": amount_refunded,
        "captured": True,
        "created": session["created"],
        "currency": session["currency"],
        "livemode": False,
        "metadata": _metadata(session),
        "paid": True,
        "payment_intent": session["payment_intent"],
        "refunded": amount_refunded >= session["amount"],
        "status": "succeeded",
    }


def payment_events(session: dict, method: str = "card", now: int | None = None) -> list[dict]:
    """The events Stripe sends for one successful payment of `session`, in order."""
    if method not in METHODS:
        raise ValueError(f"unknown payment method {method!r}")
    now = now or int(time.time())
    if method == "card":
        return [
            _event(session, "checkout.session.completed",
                   checkout_session_object(session, method, "paid"), now),
            _event(session, "payment_intent.succeeded", payment_intent_object(session, method), now),
        ]
    return [
        _event(session, "checkout.session.completed",
               checkout_session_object(session, method, "unpaid"), now),
        _event(session, "payment_intent.succeeded", payment_intent_object(session, method), now),
        _event(session, "checkout.session.async_payment_succeeded",
               checkout_session_object(session, method, "paid"), now),
    ]


def refund_session(refund: RefundRequest) -> dict:
    """The fields of a sandbox "session" a refund event needs, from a refund request."""
    key = refund.payment_intent_id.removeprefix("pi_sandbox_").removeprefix("pi_")
    return {"id": refund.payment_intent_id, "payment_intent": refund.payment_intent_id,
            "charge": refund.charge_id or f"ch_sandbox_{key}",
            "amount": refund.payment_amount_minor or refund.amount_minor, "currency": refund.currency,
            "invoice_id": refund.invoice_id or "", "created": int(time.time())}


def refund_event(session: dict, amount_refunded: int, now: int | None = None) -> dict:
    event = _event(session, "charge.refunded", charge_refunded_object(session, amount_refunded),
                   now or int(time.time()))
    event["id"] += f"_{amount_refunded}"
    event["data"]["previous_attributes"] = {"amount_refunded": 0}
    return event


# ------------------------------------------------------------------ signing and delivery

def stripe_signature(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """The Stripe-Signature header for `payload` (the exact bytes that are sent)."""
    timestamp = int(time.time()) if timestamp is None else int(timestamp)
    signed = str(timestamp).encode() + b"." + payload
    digest = hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def encode_event(event: dict) -> bytes:
    """Compact JSON, as Stripe sends it."""
    return json.dumps(event, separators=(",", ":")).encode("utf-8")


def post_event(url: str, payload: bytes, signature: str, timeout: float = 10.0) -> int:
    request = urllib.request.Request(url, data=payload, method="POST", headers={
        "Content-Type": "application/json; charset=utf-8",
        "Stripe-Signature": signature,
        "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks) sandbox",
    })
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (our own URL)
        return response.status


def deliver_events(url: str, session: dict, method: str = "card") -> list[int]:
    """The job the sandbox's "Pay" enqueues: deliver the payment's events to `url`.
    Safe to run twice: the webhook stores each event id once."""
    secret = webhook_secret("stripe")
    statuses = []
    for event in payment_events(session, method):
        body = encode_event(event)
        statuses.append(post_event(url, body, stripe_signature(body, secret)))
    return statuses


def _webhook_url() -> str:
    return absolute_url("webhooks.stripe_webhook")


def deliver_refund(url: str, session: dict, amount_refunded: int) -> int:
    """The job a sandbox refund enqueues: post the signed `charge.refunded` event."""
    body = encode_event(refund_event(session, amount_refunded))
    return post_event(url, body, stripe_signature(body, webhook_secret("stripe")))
