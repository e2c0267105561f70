"""The `stripe` payments backend: Stripe Checkout (card and US bank account).

- One Stripe Customer per company, created once: idempotency key `company-<uuid>`,
  its id stored in companies.stripe_customer_id.
- Every object we create for an invoice carries `metadata.invoice_id` (the Session
  and, through payment_intent_data, the PaymentIntent and its Charge).
- Amounts cross this boundary as integer cents.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import stripe

from app.billing.payments import to_cents
from app.crm.models import Company
from app.extensions import db
from app.integrations.payments import (
    CheckoutRequest,
    CheckoutUnavailable,
    RefundRequest,
    RefundUnavailable,
)

log = logging.getLogger(__name__)


@dataclass
class StripeCheckout:
    api_key: str

    @classmethod
    def from_config(cls, config) -> StripeCheckout:
        key = config.get("STRIPE_SECRET_KEY") or ""
        if not key:
            raise RuntimeError("PAYMENTS_BACKEND=stripe needs STRIPE_SECRET_KEY")
        return cls(api_key=key)

    def ensure_customer(self, checkout: CheckoutRequest) -> str:
        company = db.session.get(Company, checkout.company_id)
        if company.stripe_customer_id:
            return company.stripe_customer_id
        customer = stripe.Customer.create(
            api_key=self.api_key,
            idempotency_key=f"company-{company.id}",
            name=company.name,
            email=checkout.customer_email,
            metadata={"company_id": str(company.id)},
        )
        company.stripe_customer_id = customer["id"]
        db.session.flush()
        return company.stripe_customer_id

    def create_checkout(self, checkout: CheckoutRequest) -> str:
        try:
            return self._create_checkout(checkout)
        except stripe.StripeError as exc:  # the SDK's base error: API, network, auth, rate limit
            log.error("stripe checkout failed for invoice %s: %s (request %s)", checkout.invoice_id,
                      exc.user_message or exc, getattr(exc, "request_id", None))
            raise CheckoutUnavailable(str(exc)) from exc

    def _create_checkout(self, checkout: CheckoutRequest) -> str:
        customer = self.ensure_customer(checkout)
        metadata = {"invoice_id": checkout.invoice_id, "source": "crm"}
        description = f"Invoice {checkout.invoice_number} - {checkout.company_name}"
        session = stripe.checkout.Session.create(
            api_key=self.api_key,
            idempotency_key=checkout.idempotency_key,
            mode="payment",
            customer=customer,
            client_reference_id=checkout.invoice_id,
            payment_method_types=["card", "us_bank_account"],
            line_items=[{
                "quantity": 1,
                "price_data": {
                    "currency": "usd",
                    "unit_amount": to_cents(checkout.amount),
                    "product_data": {"name": description},
                },
            }],
            metadata=metadata,
            payment_intent_data={"metadata": metadata, "description": description},
            success_url=checkout.success_url,
            cancel_url=checkout.cancel_url,
        )
        return session["url"]

    def refund(self, refund: RefundRequest) -> str:
        """POST /v1/refunds for the PaymentIntent, with the request's idempotency key: asked
        twice (a retry, a double click), Stripe answers with the first refund."""
        try:
            created = stripe.Refund.create(
                api_key=self.api_key,
                idempotency_key=refund.idempotency_key,
                payment_intent=refund.payment_intent_id,
                amount=refund.amount_minor,
                metadata={**refund.metadata, **({"invoice_id": refund.invoice_id} if refund.invoice_id else {})},
            )
        except stripe.StripeError as exc:
            log.error("stripe refund failed for %s: %s (request %s)", refund.payment_intent_id,
                      exc.user_message or exc, getattr(exc, "request_id", None))
            raise RefundUnavailable(exc.user_message or str(exc)) from exc
        return created["id"]
