"""The one way to get a webhook's shared secret.

Outside production an unset secret falls back to a fixed development value (the sandbox
checkout signs its Stripe-shaped events with it). In production there is no fallback:
an unset secret raises `WebhookSecretMissing` and the webhook refuses the delivery.
"""
from __future__ import annotations

from flask import current_app

# provider -> the setting that holds its secret
WEBHOOK_SECRET_SETTINGS = {
    "stripe": "STRIPE_WEBHOOK_SECRET",
    "sms": "SMS_WEBHOOK_SECRET",
    "calcom": "CALCOM_WEBHOOK_SECRET",
    "gmail": "GMAIL_PUSH_SECRET",
    "quickbooks": "QBO_WEBHOOK_VERIFIER",
}
DEVELOPMENT_SECRETS = {provider: f"whsec_dev_{provider}" for provider in WEBHOOK_SECRET_SETTINGS}
DEVELOPMENT_SECRETS["stripe"] = "whsec_dev_sandbox"


class WebhookSecretMissing(RuntimeError):
    """No real secret is configured for a webhook in production: refuse every delivery."""


def webhook_secret(provider: str) -> str:
    setting = WEBHOOK_SECRET_SETTINGS[provider]
    secret = current_app.config.get(setting)
    if secret:
        return secret
    if current_app.config.get("ENV") == "production":
        raise WebhookSecretMissing(f"{setting} is not set")
    return DEVELOPMENT_SECRETS[provider]
