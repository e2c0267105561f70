"""Card and bank payments behind one small interface, chosen by PAYMENTS_BACKEND.

- `sandbox` (dev and tests, the default): a local stand-in for Stripe Checkout at
  /pay/<token>/sandbox-checkout that, on "Pay", delivers events signed exactly as
  Stripe signs them to our own POST /webhooks/stripe, so the real webhook path runs.
- `stripe`: Stripe Checkout through the stripe SDK.

Either way the invoice is only marked paid by the webhook, never by the redirect.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from flask import current_app


@dataclass(frozen=True)
class CheckoutRequest:
    invoice_id: str
    invoice_number: str
    company_id: str
    company_name: str
    customer_email: str | None
    amount: Decimal
    success_url: str
    cancel_url: str
    token: str  # the public link's token (the sandbox's page lives under it)
    idempotency_key: str


@dataclass(frozen=True)
class RefundRequest:
    """Give back `amount_minor` (the provider's minor units) of a PaymentIntent."""
    payment_intent_id: str
    charge_id: str | None
    amount_minor: int
    currency: str
    invoice_id: str | None
    idempotency_key: str  # the same refund asked twice is one refund
    metadata: dict
    payment_amount_minor: int = 0  # what the payment took (the sandbox's charge object)
    already_refunded_minor: int = 0  # refunds of it recorded so far (the sandbox's cumulative)


class RefundUnavailable(Exception):
    """The provider refused or could not take the refund: nothing was refunded."""


class CheckoutUnavailable(Exception):
    """The payments provider could not start a checkout (down, rate limited, refused):
    nothing was charged; the customer is asked to try again."""


class PaymentsBackend(Protocol):
    def create_checkout(self, checkout: CheckoutRequest) -> str:
        """Start a checkout for `checkout.amount`; returns the URL to send the customer to."""

    def refund(self, refund: RefundRequest) -> str:
        """Ask the provider to refund; returns its refund id. The refund is recorded only
        when the provider's `charge.refunded` event confirms it."""


def get_payments_backend() -> PaymentsBackend:
    name = (current_app.config.get("PAYMENTS_BACKEND") or "sandbox").lower()
    if name == "sandbox":
        from app.integrations.sandbox_checkout import SandboxCheckout

        return SandboxCheckout()
    if name == "stripe":
        from app.integrations.stripe_checkout import StripeCheckout

        return StripeCheckout.from_config(current_app.config)
    raise RuntimeError(f"unknown PAYMENTS_BACKEND {name!r} (sandbox, stripe)")
