"""A production-configured app for the security tests (issue 9): CRM_ENV=production with
every backend's secrets, on the test database and Redis."""
from __future__ import annotations

from tests.conftest import make_app

PRODUCTION = {
    "SECRET_KEY": "prod-test-secret-key-0123456789",
    "SECRETS_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
    "APP_BASE_URL": "https://crm.example.com",
    "PAYMENTS_BACKEND": "stripe",
    "STRIPE_SECRET_KEY": "sk_test_prod_0123456789",
    "STRIPE_WEBHOOK_SECRET": "whsec_prod_test_0123456789",
    "MAIL_BACKEND": "smtp",
    "SMTP_HOST": "smtp.example.com",
    "SMS_BACKEND": "none",
}


def production_env(monkeypatch, **changes) -> None:
    """The environment of a production deployment (what Config reads)."""
    monkeypatch.setenv("CRM_ENV", "production")
    for key, value in {**PRODUCTION, **changes}.items():
        if value is None:
            monkeypatch.delenv(key, raising=False)
        else:
            monkeypatch.setenv(key, value)


def production_app(app, redis_url, monkeypatch, **overrides):
    """A second app, configured for production, on the session app's database (requests
    share the test's rolled-back session)."""
    production_env(monkeypatch)
    return make_app(app.config["SQLALCHEMY_DATABASE_URI"], redis_url, **overrides)
